using System.Text;
using System.Text.Json;
using PubSub.Client.Protocol;

namespace PubSub.Client.Tests.Protocol;

/// <summary>
/// The MessagePack codec against protocol/frames/msgpack.json (made with @msgpack/msgpack, and
/// read by the server's and client-js's tests too): every server frame reads as its JSON
/// counterpart does, what is not the protocol is a bad frame, and every frame the client sends is
/// the vector's bytes.
/// </summary>
public sealed class MessagePackVectorTests
{
    private static readonly FrameCodec s_msgpack = MessagePackFrameCodec.Instance;

    public static TheoryData<string, string> ServerFrames => ProtocolVectors.Cases("frames/msgpack.json", "server");

    public static TheoryData<string, string> InvalidServerFrames => ProtocolVectors.Cases("frames/msgpack.json", "serverInvalid");

    public static TheoryData<string, string> IgnoredServerFrames => ProtocolVectors.Cases("frames/msgpack.json", "ignored");

    public static TheoryData<string, string> ClientFrames => ProtocolVectors.Cases("frames/msgpack.json", "client");

    public static TheoryData<string, string> Batches => ProtocolVectors.Cases("frames/msgpack.json", "batches");

    [Theory, MemberData(nameof(ServerFrames))]
    public void Every_server_frame_reads_as_its_JSON_counterpart_does(string name, string entry)
    {
        var vector = Parse(entry);

        var fromMessagePack = s_msgpack.Parse(Hex(vector));
        var fromJson = JsonFrameCodec.Instance.Parse(Encoding.UTF8.GetBytes(vector.GetProperty("json").GetString()!));

        Assert.True(Describe(fromJson) == Describe(fromMessagePack), $"{name}:\n json    {Describe(fromJson)}\n msgpack {Describe(fromMessagePack)}");
        Assert.NotEqual(ServerFrameType.Unknown, fromMessagePack.Type);
    }

    [Fact]
    public void A_binary_publication_arrives_as_its_bytes()
    {
        var vector = Vector("server", "message with bytes");

        var frame = s_msgpack.Parse(Hex(vector));

        Assert.Equal(new byte[] { 0, 1, 2, 3 }, frame.Binary);
    }

    [Theory, MemberData(nameof(InvalidServerFrames))]
    public void What_is_not_a_server_frame_is_a_bad_frame(string name, string entry)
    {
        var error = Assert.Throws<PubSubException>(() => s_msgpack.Parse(Hex(Parse(entry))));

        Assert.True(error.Code == PubSubErrorCodes.BadFrame, name);
    }

    [Theory, MemberData(nameof(IgnoredServerFrames))]
    public void Server_frames_of_types_the_client_does_not_know_are_ignored(string name, string entry)
    {
        var frame = s_msgpack.Parse(Hex(Parse(entry)));

        Assert.True(frame.Type == ServerFrameType.Unknown, name);
    }

    [Theory, MemberData(nameof(ClientFrames))]
    public void The_frames_the_client_writes_are_the_protocols_byte_for_byte(string name, string entry)
    {
        var vector = Parse(entry);
        var frame = Parse(vector.GetProperty("json").GetString()!);
        if (frame.TryGetProperty("future", out _))
        {
            // Fields a newer client may send: the server's tolerance, not a frame this client writes.
            return;
        }

        var written = Build(s_msgpack, frame);

        Assert.True(vector.GetProperty("hex").GetString() == Convert.ToHexStringLower(written), $"{name}: wrote {Convert.ToHexStringLower(written)}");
        // And the same call in JSON writes the JSON counterpart.
        Assert.Equal(vector.GetProperty("json").GetString(), Encoding.UTF8.GetString(Build(JsonFrameCodec.Instance, frame)));
    }

    [Theory, MemberData(nameof(Batches))]
    public void A_batch_is_its_frames_one_after_another(string name, string entry)
    {
        var vector = Parse(entry);
        var frames = vector.GetProperty("frames").EnumerateArray().Select(f => Build(s_msgpack, Parse(f.GetString()!))).ToList();

        Assert.True(vector.GetProperty("hex").GetString() == Convert.ToHexStringLower([.. frames.SelectMany(f => f)]), name);
        var split = new List<string>();
        s_msgpack.Split(Hex(vector), split, static (list, frame) =>
        {
            list.Add(Convert.ToHexStringLower(frame));
            return true;
        });
        Assert.Equal(frames.Select(Convert.ToHexStringLower), split);
    }

    [Fact]
    public void A_value_that_does_not_decode_ends_the_batch_and_is_reported()
    {
        var ping = Vector("server", "ping").GetProperty("hex").GetString()!;
        var truncated = Vector("serverInvalid", "truncated").GetProperty("hex").GetString()!;
        var parts = new List<byte[]>();

        // (Truncated at the end: bytes after a cut value would be read as its missing part.)
        s_msgpack.Split(Convert.FromHexString(ping + ping + truncated), parts, static (list, frame) =>
        {
            list.Add(frame.ToArray());
            return true;
        });

        Assert.Equal(3, parts.Count);
        Assert.Equal(ServerFrameType.Ping, s_msgpack.Parse(parts[1]).Type);
        Assert.Equal(PubSubErrorCodes.BadFrame, Assert.Throws<PubSubException>(() => s_msgpack.Parse(parts[2])).Code);
    }

    [Fact]
    public void Nesting_beyond_the_limit_is_a_bad_frame_not_a_stack_overflow()
    {
        var deep = "84a474797065a76d657373616765a76368616e6e656ca163a66f666673657401a46461746" + "1"
            + string.Concat(Enumerable.Repeat("91", 100_000)) + "c0";
        var bytes = Convert.FromHexString(deep);
        var parts = new List<byte[]>();

        s_msgpack.Split(bytes, parts, static (list, frame) =>
        {
            list.Add(frame.ToArray());
            return true;
        });

        Assert.Single(parts);
        Assert.Equal(PubSubErrorCodes.BadFrame, Assert.Throws<PubSubException>(() => s_msgpack.Parse(parts[0])).Code);
    }

    /// <summary>The frame the client writes in <paramref name="codec"/>'s encoding for the call a vector's JSON describes.</summary>
    internal static byte[] Build(FrameCodec codec, JsonElement frame)
    {
        var type = frame.GetProperty("type").GetString();
        var id = frame.TryGetProperty("id", out var i) ? i.GetInt64() : 0;
        var channel = frame.TryGetProperty("channel", out var c) ? c.GetString()! : "";
        StreamPosition? since = frame.TryGetProperty("since", out var s)
            ? new StreamPosition(s.GetProperty("offset").GetInt64(), s.GetProperty("epoch").GetString()!)
            : null;
        var key = frame.TryGetProperty("idempotencyKey", out var k) ? k.GetString() : null;
        return type switch
        {
            "subscribe" => codec.Subscribe(id, channel, since),
            "unsubscribe" => codec.Unsubscribe(id, channel),
            "publish" when frame.TryGetProperty("binary", out var binary) => codec.PublishBinary(id, channel, binary.GetBytesFromBase64(), key),
            "publish" => codec.Publish(id, channel, frame.GetProperty("data").WriteTo, key),
            "presence" => codec.Presence(id, channel),
            "presence_stats" => codec.PresenceStats(id, channel),
            "history" => codec.History(id, channel, since, frame.TryGetProperty("limit", out var limit) ? limit.GetInt32() : null),
            "ping" when frame.TryGetProperty("id", out _) => codec.Ping(id),
            "ping" => Convert.FromHexString("81a474797065a470696e67"),
            "pong" => codec.Pong,
            "close" => codec.Close,
            _ => throw new InvalidOperationException($"The client writes no '{type}' frame; teach this test how."),
        };
    }

    /// <summary>Every field of a parsed frame, for comparing two.</summary>
    private static string Describe(ServerFrame f) => string.Join(" | ",
        f.Type, f.TypeName, f.Session, f.Node, f.Transport, f.Ping, f.Id,
        f.Result.ValueKind == JsonValueKind.Undefined ? "-" : f.Result.GetRawText(),
        f.ErrorCode, f.ErrorMessage, f.Channel, f.Epoch, f.Offset, f.Recovered,
        f.Data.ValueKind == JsonValueKind.Undefined ? "-" : f.Data.GetRawText(),
        f.Binary is null ? "-" : Convert.ToHexStringLower(f.Binary), f.BinaryInvalid, f.DisconnectCode, f.Reason, f.Reconnect,
        f.User, f.Info.ValueKind == JsonValueKind.Undefined ? "-" : f.Info.GetRawText());

    private static JsonElement Vector(string list, string name) =>
        ProtocolVectors.Read("frames/msgpack.json").GetProperty(list).EnumerateArray().Single(v => v.GetProperty("name").GetString() == name);

    private static byte[] Hex(JsonElement vector) => Convert.FromHexString(vector.GetProperty("hex").GetString()!);

    private static JsonElement Parse(string json) => JsonSerializer.Deserialize<JsonElement>(json);
}
