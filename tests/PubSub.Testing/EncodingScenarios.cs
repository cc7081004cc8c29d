using System.Text.Json;
using Xunit;

namespace PubSub.Testing;

/// <summary>
/// What every transport and encoding must do against real nodes (docs/protocol.md, section 6),
/// written once and run on one node and on two nodes sharing a broker (in memory, Redis).
/// </summary>
public static class EncodingScenarios
{
    /// <summary>The JSON data every scenario publishes: numbers of every kind, text, nesting.</summary>
    public static readonly string Data = """{"text":"été","i":-3,"big":12345678901,"f":1.5,"a":[true,false,null],"o":{}}""";

    public const string Bytes = "AAECAw==";

    /// <summary>
    /// On <paramref name="kind"/>: subscribe on <paramref name="first"/>, publish JSON data and bytes
    /// (both arrive as sent), read them back from history, then reconnect to <paramref name="second"/>
    /// and recover from the first publication's position: the second comes again, and nothing else.
    /// </summary>
    public static async Task SubscribePublishHistoryAndRecoverAsync(TestNode first, TestNode second, string kind, string channel)
    {
        JsonElement position;
        await using (var peer = await EncodedPeer.OpenAsync(first, kind))
        {
            await peer.SubscribeAsync(channel);
            var json = await peer.ResultAsync(new() { ["type"] = "publish", ["channel"] = channel, ["data"] = JsonSerializer.Deserialize<JsonElement>(Data) });
            var bytes = await peer.ResultAsync(new() { ["type"] = "publish", ["channel"] = channel, ["binary"] = Bytes });
            Assert.Equal(json.GetProperty("offset").GetInt64() + 1, bytes.GetProperty("offset").GetInt64());

            var messages = new[] { await peer.NextMessageAsync(), await peer.NextMessageAsync() };
            AssertData(messages[0], kind);
            Assert.Equal(Bytes, messages[1].GetProperty("binary").GetString());

            var history = await peer.ResultAsync(new() { ["type"] = "history", ["channel"] = channel, ["limit"] = 10 });
            var publications = history.GetProperty("publications").EnumerateArray().ToList();
            Assert.Equal(2, publications.Count);
            AssertData(publications[0], kind);
            Assert.Equal(Bytes, publications[1].GetProperty("binary").GetString());
            position = JsonSerializer.SerializeToElement(new { epoch = messages[0].GetProperty("epoch").GetString(), offset = messages[0].GetProperty("offset").GetInt64() });
        }

        await using var back = await EncodedPeer.OpenAsync(second, kind);
        var resumed = await back.SubscribeAsync(channel, position);
        Assert.True(resumed.GetProperty("recovered").GetBoolean(), $"{kind}: {resumed}");
        var missed = await back.NextMessageAsync();
        Assert.Equal(position.GetProperty("offset").GetInt64() + 1, missed.GetProperty("offset").GetInt64());
        Assert.Equal(Bytes, missed.GetProperty("binary").GetString());
    }

    /// <summary>
    /// A subscriber of every kind on one channel, spread over <paramref name="nodes"/>; publications
    /// from a MessagePack client (data and bytes), a JSON client and the server API: every subscriber
    /// receives the same publications, with the same data, in the same order.
    /// </summary>
    public static async Task MixedEncodingsReceiveTheSameAsync(IReadOnlyList<TestNode> nodes, string channel)
    {
        var peers = new List<EncodedPeer>();
        try
        {
            for (var i = 0; i < EncodedPeer.Kinds.Length; i++)
            {
                var peer = await EncodedPeer.OpenAsync(nodes[i % nodes.Count], EncodedPeer.Kinds[i]);
                peers.Add(peer);
                await peer.SubscribeAsync(channel);
            }
            var msgpack = peers.Single(p => p.Kind == "websocket/msgpack");
            var json = peers.Single(p => p.Kind == "long-polling/json");
            await msgpack.ResultAsync(new() { ["type"] = "publish", ["channel"] = channel, ["data"] = JsonSerializer.Deserialize<JsonElement>(Data) });
            await msgpack.ResultAsync(new() { ["type"] = "publish", ["channel"] = channel, ["binary"] = Bytes });
            await json.ResultAsync(new() { ["type"] = "publish", ["channel"] = channel, ["data"] = JsonSerializer.Deserialize<JsonElement>(Data) });
            await json.ResultAsync(new() { ["type"] = "publish", ["channel"] = channel, ["binary"] = Bytes });
            await nodes[^1].PublishViaApiAsync(channel, JsonSerializer.Deserialize<JsonElement>(Data));

            List<string>? first = null;
            foreach (var peer in peers)
            {
                var received = new List<string>();
                for (var i = 0; i < 5; i++)
                {
                    var message = await peer.NextMessageAsync();
                    if (message.TryGetProperty("data", out _))
                    {
                        AssertData(message, peer.Kind);
                    }
                    received.Add($"{message.GetProperty("offset").GetInt64()}:{(message.TryGetProperty("binary", out var b) ? b.GetString() : "data")}");
                }
                first ??= received;
                Assert.True(first.SequenceEqual(received), $"{peer.Kind} received {string.Join(", ", received)}; {peers[0].Kind} {string.Join(", ", first)}");
            }
            Assert.Equal(["data", Bytes, "data", Bytes, "data"], first!.Select(r => r[(r.IndexOf(':', StringComparison.Ordinal) + 1)..]));
        }
        finally
        {
            foreach (var peer in peers)
            {
                await peer.DisposeAsync();
            }
        }
    }

    /// <summary>The data arrived as <see cref="Data"/>: the same JSON value, whatever encodings it crossed.</summary>
    private static void AssertData(JsonElement frame, string kind)
    {
        var data = frame.GetProperty("data");
        Assert.True(JsonElement.DeepEquals(JsonSerializer.Deserialize<JsonElement>(Data), data), $"{kind}: {data}");
    }
}
