using System.Text.Json;

namespace PubSub.Server.Tests.Transports;

/// <summary>
/// A MessagePack library nobody here wrote (@msgpack/msgpack, run by Node; tests/interop/msgpack-interop.mjs)
/// against the protocol's MessagePack vectors and a real node: it reads and writes every vector byte
/// for byte, and over a WebSocket on pubsub.msgpack the frames it encodes are understood and every
/// frame the server sends decodes.
/// </summary>
public sealed class MessagePackInteropTests
{
    private static bool IsFrame(JsonElement line, string type, long? id = null) =>
        line.TryGetProperty("frame", out var frame) && frame.GetProperty("type").GetString() == type
        && (id is null || (frame.TryGetProperty("id", out var i) && i.GetInt64() == id));

    [Fact]
    public async Task Msgpack_javascript_reads_and_writes_every_vector_and_talks_to_a_node_over_pubsub_msgpack()
    {
        await using var node = await TestNode.StartAsync();
        await using var script = NodeScript.Start("msgpack-interop.mjs", Path.Combine(ProtocolVectors.Directory, "frames", "msgpack.json"), node.WebSocketUri.ToString());

        var vectors = await script.NextAsync();
        Assert.True(vectors.GetProperty("vectors").GetInt32() > 20, vectors.ToString());
        Assert.True(vectors.GetProperty("failures").GetArrayLength() == 0, vectors.ToString());

        var (connected, _) = await script.NextWhereAsync(l => IsFrame(l, "connected"));
        Assert.Equal("websocket", connected.GetProperty("frame").GetProperty("transport").GetString());
        var (history, before) = await script.NextWhereAsync(l => IsFrame(l, "reply", 4));

        Assert.DoesNotContain(before, l => l.TryGetProperty("error", out _) || IsFrame(l, "error"));
        foreach (var id in new long[] { 1, 2, 3 })
        {
            Assert.True(before.Single(l => IsFrame(l, "reply", id)).GetProperty("frame").TryGetProperty("result", out _), $"reply {id}");
        }
        var messages = before.Where(l => IsFrame(l, "message")).Select(l => l.GetProperty("frame")).ToList();
        var publications = history.GetProperty("frame").GetProperty("result").GetProperty("publications").EnumerateArray().ToList();
        foreach (var received in new[] { messages, publications })
        {
            Assert.Equal(2, received.Count);
            var data = received[0].GetProperty("data");
            Assert.Equal("été", data.GetProperty("text").GetString());
            Assert.Equal(1.5, data.GetProperty("n").GetDouble());
            Assert.Equal(12345678901, data.GetProperty("big").GetInt64());
            Assert.Equal("[true,null]", data.GetProperty("list").GetRawText());
            Assert.Equal(Convert.ToBase64String(new byte[] { 0, 1, 2, 3, 255 }), received[1].GetProperty("binary").GetString());
        }
    }
}
