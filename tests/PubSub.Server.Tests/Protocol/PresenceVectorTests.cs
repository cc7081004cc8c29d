using System.Text;
using System.Text.Json;
using PubSub.Protocol;

namespace PubSub.Server.Tests.Protocol;

/// <summary>
/// The presence frames' vectors, kept in the server's own tests until both clients know the frames:
/// protocol/frames/*.json are read byte for byte by the clients' tests too, which check that they
/// build every client frame listed and parse every server frame listed, so a frame type they do not
/// know yet would fail them. Once they do, these move to client.json, server.json and msgpack.json
/// as they are (and <c>presence_disabled</c> from error-codes.json's <c>pending</c> to its <c>codes</c>).
/// </summary>
public sealed class PresenceVectorTests
{
    /// <summary>Client frames: what is sent, and what the server reads from it.</summary>
    public static TheoryData<string, string> ClientFrames => new()
    {
        { "presence", """{"type":"presence","id":8,"channel":"chat/lobby"}""" },
        { "presence stats", """{"type":"presence_stats","id":9,"channel":"chat/lobby"}""" },
    };

    /// <summary>Server frames, byte for byte in JSON; in MessagePack the same fields in the same order (docs/protocol.md, section 6).</summary>
    public static TheoryData<string, string> ServerFrames => new()
    {
        { "presence reply", """{"type":"reply","id":8,"result":{"members":[{"session":"n4f2a1c9.yW1bq0o3T8mD8Qe4Pp7r_A","user":"42","info":{"name":"Ada"}},{"session":"n4f2a1c9.Qm3lY0o3T8mD8Qe4Pp7r_B"}],"truncated":false}}""" },
        { "presence stats reply", """{"type":"reply","id":9,"result":{"clients":2,"users":1}}""" },
        { "join", """{"type":"join","channel":"chat/lobby","session":"n4f2a1c9.yW1bq0o3T8mD8Qe4Pp7r_A","user":"42","info":{"name":"Ada"}}""" },
        { "leave of an anonymous session", """{"type":"leave","channel":"chat/lobby","session":"n4f2a1c9.Qm3lY0o3T8mD8Qe4Pp7r_B"}""" },
    };

    [Theory, MemberData(nameof(ClientFrames))]
    public void A_presence_request_is_read_alike_from_json_and_messagepack(string name, string json)
    {
        Assert.True(ClientFrameParser.TryParse(Encoding.UTF8.GetBytes(json), out var frame, out var error), $"{name}: {error.Message}");
        Assert.Equal(json, ProtocolVectorsTests.Describe(frame!));

        ReadOnlyMemory<byte> packed = MessagePackFrames.Encode(JsonSerializer.Deserialize<JsonElement>(json));
        Assert.Equal(FrameRead.Frame, FrameEncoding.MessagePack.ReadFrame(ref packed, out var fromMessagePack, out error));
        Assert.Equal(json, ProtocolVectorsTests.Describe(fromMessagePack!));
    }

    [Theory, MemberData(nameof(ServerFrames))]
    public void A_presence_frame_is_written_byte_for_byte_in_both_encodings(string name, string json)
    {
        var vector = JsonSerializer.Deserialize<JsonElement>(json);

        Assert.Equal(json, Encoding.UTF8.GetString(Build(FrameEncoding.Json, vector)));
        Assert.True(MessagePackFrames.Encode(vector).AsSpan().SequenceEqual(Build(FrameEncoding.MessagePack, vector)), name);
    }

    [Fact]
    public void A_presence_request_without_a_channel_is_refused_with_its_id()
    {
        Assert.False(ClientFrameParser.TryParse("""{"type":"presence","id":3}"""u8, out _, out var error));
        Assert.Equal((PubSubErrorCodes.BadRequest, 3L), (error.Code, error.Id));
    }

    private static byte[] Build(FrameEncoding encoding, JsonElement frame)
    {
        static PresenceMember Member(JsonElement e) => new(
            e.GetProperty("session").GetString()!,
            e.TryGetProperty("user", out var user) ? user.GetString() : null,
            e.TryGetProperty("info", out var info) ? Payload.FromJson(info) : null);

        var type = frame.GetProperty("type").GetString();
        if (type is "join" or "leave")
        {
            return encoding.Presence(new PresenceEvent(frame.GetProperty("channel").GetString()!, type == "join", Member(frame)));
        }
        var id = frame.GetProperty("id").GetInt64();
        var result = frame.GetProperty("result");
        return result.TryGetProperty("members", out var members)
            ? encoding.ReplyPresence(id, new PresencePage([.. members.EnumerateArray().Select(Member)], result.GetProperty("truncated").GetBoolean()))
            : encoding.ReplyPresenceStats(id, new PresenceStats(result.GetProperty("clients").GetInt32(), result.GetProperty("users").GetInt32()));
    }
}
