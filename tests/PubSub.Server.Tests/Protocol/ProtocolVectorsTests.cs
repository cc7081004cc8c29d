using System.Net.Http.Json;
using System.Reflection;
using System.Text;
using System.Text.Json;
using PubSub.Http;
using PubSub.Protocol;

namespace PubSub.Server.Tests.Protocol;

/// <summary>
/// The server against the protocol's vectors in protocol/ (the same files both clients' tests
/// read): its error codes and their HTTP statuses and retry rule, its disconnect codes, what its
/// parser reads from client frames, and the bytes of every server frame.
/// </summary>
public sealed class ProtocolVectorsTests
{
    public static TheoryData<string, string> ValidClientFrames => ProtocolVectors.Cases("frames/client.json", "valid");

    public static TheoryData<string, string> InvalidClientFrames => ProtocolVectors.Cases("frames/client.json", "invalid");

    public static TheoryData<string, string> ServerFrames => ProtocolVectors.Cases("frames/server.json", "valid");

    [Fact]
    public void The_servers_error_codes_are_the_protocols_with_their_statuses_and_retry_rules()
    {
        var vectors = ProtocolVectors.ErrorCodes("server");
        var constants = typeof(PubSubErrorCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral).Select(f => (string)f.GetRawConstantValue()!).ToList();

        Assert.Equal(vectors.Select(v => v.Code).Order(), constants.Order());
        foreach (var (code, retry, http) in vectors)
        {
            Assert.True(HttpErrors.StatusOf(code) == http, $"'{code}' is answered with HTTP {HttpErrors.StatusOf(code)}, the protocol says {http}");
            // The subscriptions a node makes for a client (SSE and long-polling URLs, cursors) are made again after these.
            Assert.True(PubSubErrorCodes.IsTransient(code) == (retry == "later"), $"'{code}': the server {(PubSubErrorCodes.IsTransient(code) ? "retries" : "does not retry")} it, the protocol's rule is '{retry}'");
        }
    }

    [Fact]
    public void The_servers_disconnect_codes_and_their_reconnect_flag_are_the_protocols()
    {
        var vectors = ProtocolVectors.Read("disconnect-codes.json");
        var reasons = typeof(DisconnectReason).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Select(f => (DisconnectReason)f.GetValue(null)!).ToList();
        var codes = vectors.GetProperty("codes").EnumerateArray().ToDictionary(c => c.GetProperty("code").GetInt32(), c => c.GetProperty("reconnect").GetBoolean());

        Assert.Equal(codes.Keys.Order(), reasons.Select(r => r.Code).Order());
        Assert.All(reasons, r => Assert.Equal(codes[r.Code], r.Reconnect));
        foreach (var example in vectors.GetProperty("examples").EnumerateArray().Where(e => e.GetProperty("code").GetInt32() is >= 4000 and <= 4999))
        {
            Assert.Equal(example.GetProperty("reconnect").GetBoolean(), new DisconnectReason(example.GetProperty("code").GetInt32(), "").Reconnect);
        }
    }

    [Theory]
    [MemberData(nameof(ValidClientFrames))]
    public void A_valid_client_frame_is_read_as_the_protocol_says(string name, string vector)
    {
        var entry = JsonSerializer.Deserialize<JsonElement>(vector);
        var text = Encoding.UTF8.GetBytes(entry.GetProperty("frame").GetRawText());

        Assert.True(ClientFrameParser.TryParse(text, out var frame, out var error), $"{name}: {error.Message}");
        Assert.Equal(JsonSerializer.Serialize(entry.GetProperty("parsed")), Describe(frame!));
    }

    [Theory]
    [MemberData(nameof(InvalidClientFrames))]
    public void An_invalid_client_frame_is_refused_with_the_protocols_code_and_keeps_its_id(string name, string vector)
    {
        var entry = JsonSerializer.Deserialize<JsonElement>(vector);

        Assert.False(ClientFrameParser.TryParse(Encoding.UTF8.GetBytes(entry.GetProperty("text").GetString()!), out _, out var error), name);
        Assert.Equal(entry.GetProperty("code").GetString(), error.Code);
        Assert.Equal(entry.TryGetProperty("id", out var id) ? id.GetInt64() : null, error.Id);
    }

    [Theory]
    [MemberData(nameof(ServerFrames))]
    public void A_server_frame_is_written_byte_for_byte_as_the_protocol_shows(string name, string vector)
    {
        var text = JsonSerializer.Deserialize<JsonElement>(vector).GetProperty("text").GetString()!;

        Assert.True(text == Encoding.UTF8.GetString(Build(FrameEncoding.Json, JsonSerializer.Deserialize<JsonElement>(text))), name);
    }

    [Fact]
    public async Task A_default_nodes_negotiate_answer_is_the_protocols()
    {
        await using var node = await TestNode.StartAsync();
        var expected = ProtocolVectors.Read("negotiate.json").GetProperty("default").GetRawText().Replace("n4f2a1c9", node.NodeId, StringComparison.Ordinal);

        var answer = await node.Http.GetStringAsync("pubsub/negotiate");

        Assert.Equal(expected, answer);
    }

    /// <summary>What the parser read, as the JSON the vectors write it in (only the fields it found).</summary>
    internal static string Describe(ClientFrame frame)
    {
        var fields = new Dictionary<string, object> { ["type"] = frame.Type == ClientFrameType.PresenceStats ? "presence_stats" : frame.Type.ToString().ToLowerInvariant() };
        if (frame.Id is { } id)
        {
            fields["id"] = id;
        }
        if (frame.Channel is { } channel)
        {
            fields["channel"] = channel;
        }
        if (frame.Since is { } since)
        {
            fields["since"] = new { epoch = since.Epoch, offset = since.Offset };
        }
        if (frame.Data is { } data)
        {
            fields[data.IsBinary ? "binary" : "data"] = data.IsBinary ? Convert.ToBase64String(data.Bytes.Span) : data.ToJsonElement();
        }
        if (frame.Limit is { } limit)
        {
            fields["limit"] = limit;
        }
        if (frame.IdempotencyKey is { } key)
        {
            fields["idempotencyKey"] = key;
        }
        return JsonSerializer.Serialize(fields);
    }

    /// <summary>Builds a server frame with the server's own writers of <paramref name="encoding"/>, from the fields of its vector.</summary>
    internal static byte[] Build(FrameEncoding encoding, JsonElement frame)
    {
        string S(string field) => frame.GetProperty(field).GetString()!;
        long L(string field) => frame.GetProperty(field).GetInt64();
        StreamPosition Position(JsonElement e) => new(e.GetProperty("offset").GetInt64(), e.GetProperty("epoch").GetString()!);
        bool? Recovered(JsonElement e) => e.TryGetProperty("recovered", out var r) ? r.GetBoolean() : null;
        PresenceMember Member(JsonElement e) => new(
            e.GetProperty("session").GetString()!,
            e.TryGetProperty("user", out var user) ? user.GetString() : null,
            e.TryGetProperty("info", out var info) ? Payload.FromJson(info) : null);
        Payload Data(JsonElement e) => e.TryGetProperty("binary", out var b)
            ? Payload.FromBinary(b.GetBytesFromBase64())
            : Payload.FromJson(Encoding.UTF8.GetBytes(e.GetProperty("data").GetRawText()));

        switch (S("type"))
        {
            case "connected":
                return encoding.Connected(S("session"), S("node"), S("transport"), (int)L("ping"));
            case "message":
                return encoding.Message(new Publication(S("channel"), L("offset"), S("epoch"), Data(frame)));
            case "subscribed":
                return encoding.Subscribed(S("channel"), Position(frame), Recovered(frame));
            case "unsubscribed":
                return encoding.Unsubscribed(S("channel"), S("code"), S("reason"));
            case "error":
                return encoding.Error(S("code"), S("message"));
            case "disconnect":
                return encoding.Disconnect(new DisconnectReason((int)L("code"), S("reason")));
            case "join" or "leave":
                return encoding.Presence(new PresenceEvent(S("channel"), S("type") == "join", Member(frame)));
            case "ping":
                return encoding.Ping;
            case "pong":
                return encoding.Pong;
        }
        var id = L("id");
        if (frame.TryGetProperty("error", out var problem))
        {
            return encoding.ReplyError(id, problem.GetProperty("code").GetString()!, problem.GetProperty("message").GetString()!);
        }
        var result = frame.GetProperty("result");
        if (result.TryGetProperty("publications", out var publications))
        {
            var latest = Position(result);
            return encoding.ReplyHistory(id, new HistoryPage(latest,
                [.. publications.EnumerateArray().Select(p => new Publication("any", p.GetProperty("offset").GetInt64(), latest.Epoch, Data(p)))]));
        }
        if (result.TryGetProperty("members", out var members))
        {
            return encoding.ReplyPresence(id, new PresencePage([.. members.EnumerateArray().Select(Member)], result.GetProperty("truncated").GetBoolean()));
        }
        if (result.TryGetProperty("clients", out var clients))
        {
            return encoding.ReplyPresenceStats(id, new PresenceStats(clients.GetInt32(), result.GetProperty("users").GetInt32()));
        }
        return result.TryGetProperty("epoch", out _)
            ? encoding.ReplyPosition(id, Position(result), Recovered(result))
            : encoding.ReplyEmpty(id);
    }
}
