using System.Buffers;
using System.Reflection;
using System.Text;
using System.Text.Json;
using PubSub.Client.Protocol;

namespace PubSub.Client.Tests.Protocol;

/// <summary>
/// The client against the protocol's facts in protocol/ (read by the server's and client-js's
/// tests too): its error codes and their retry rule, the disconnect codes' reconnect rule, the
/// frames it builds byte for byte, the server frames it parses or rejects, and negotiate answers.
/// </summary>
public sealed class ProtocolVectorTests
{
    public static TheoryData<string, string> ErrorCodes => ProtocolVectors.Cases("error-codes.json", "codes");

    public static TheoryData<string, string> DisconnectCodes
    {
        get
        {
            var cases = ProtocolVectors.Cases("disconnect-codes.json", "codes");
            foreach (var row in ProtocolVectors.Cases("disconnect-codes.json", "examples"))
            {
                cases.Add((string)row[0], (string)row[1]);
            }
            return cases;
        }
    }

    /// <summary>The valid client frames whose encoding is canonical: what is read from them is exactly what was sent (no fields a client would not send).</summary>
    public static TheoryData<string, string> CanonicalClientFrames
    {
        get
        {
            var cases = new TheoryData<string, string>();
            foreach (var row in ProtocolVectors.Cases("frames/client.json", "valid"))
            {
                var vector = Parse((string)row[1]);
                if (Minify(vector.GetProperty("frame")) == Minify(vector.GetProperty("parsed")))
                {
                    cases.Add((string)row[0], (string)row[1]);
                }
            }
            return cases;
        }
    }

    public static TheoryData<string, string> ValidServerFrames => ProtocolVectors.Cases("frames/server.json", "valid");

    public static TheoryData<string, string> InvalidServerFrames => ProtocolVectors.Cases("frames/server.json", "invalid");

    public static TheoryData<string, string> IgnoredServerFrames => ProtocolVectors.Cases("frames/server.json", "ignored");

    public static TheoryData<string, string> NegotiateExamples => ProtocolVectors.Cases("negotiate.json", "examples");

    [Theory, MemberData(nameof(ErrorCodes))]
    public void Every_error_code_is_a_named_code_of_the_client_with_the_protocols_retry_rule(string code, string entry)
    {
        var named = typeof(PubSubErrorCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string))
            .Select(f => (string)f.GetRawConstantValue()!);

        Assert.Contains(code, named);
        Assert.Equal(Parse(entry).GetProperty("retry").GetString(), ErrorRules.RetryOf(code).ToString().ToLowerInvariant());
    }

    [Fact]
    public void A_code_the_protocol_does_not_name_is_never_retried()
    {
        // An application hook's own code: only the application knows whether it passes.
        Assert.Equal(RetryRule.Never, ErrorRules.RetryOf("out_of_credit"));
    }

    [Theory, MemberData(nameof(DisconnectCodes))]
    public void Every_disconnect_codes_reconnect_rule_is_the_clients(string code, string entry)
    {
        var expected = Parse(entry).GetProperty("reconnect").GetBoolean();

        Assert.Equal(expected, ErrorRules.Reconnects(int.Parse(code, System.Globalization.CultureInfo.InvariantCulture)));
        // A disconnect frame that leaves 'reconnect' out is judged by its code, by the same rule.
        Assert.Equal(expected, ParseFrame($$"""{"type":"disconnect","code":{{code}},"reason":"x"}""").Reconnect);
    }

    [Fact]
    public void The_disconnect_code_ranges_are_the_clients()
    {
        var codes = ProtocolVectors.Read("disconnect-codes.json");
        foreach (var (range, reconnect) in new[] { ("reconnect", true), ("final", false) })
        {
            var from = codes.GetProperty(range).GetProperty("from").GetInt32();
            var to = codes.GetProperty(range).GetProperty("to").GetInt32();
            Assert.All(Enumerable.Range(from, to - from + 1), code => Assert.Equal(reconnect, ErrorRules.Reconnects(code)));
        }
    }

    [Theory, MemberData(nameof(CanonicalClientFrames))]
    public void The_frames_the_client_builds_are_the_protocols_byte_for_byte(string name, string entry)
    {
        var vector = Parse(entry);

        var built = Build(vector.GetProperty("parsed"));

        Assert.True(Minify(vector.GetProperty("frame")) == Encoding.UTF8.GetString(built), $"{name}: built {Encoding.UTF8.GetString(built)}");
    }

    [Fact]
    public void Most_client_frame_vectors_are_canonical()
    {
        // Guards the filter above: only a vector with fields no client sends is left out.
        var left = ProtocolVectors.Cases("frames/client.json", "valid").Count - CanonicalClientFrames.Count;

        Assert.Equal(1, left);
    }

    [Theory, MemberData(nameof(ValidServerFrames))]
    public void Valid_server_frames_parse_with_every_field_the_client_reads(string name, string entry)
    {
        var text = Parse(entry).GetProperty("text").GetString()!;
        var json = Parse(text);

        var frame = ParseFrame(text);

        Assert.Equal(json.GetProperty("type").GetString(), frame.TypeName);
        Assert.NotEqual(ServerFrameType.Unknown, frame.Type);
        foreach (var field in json.EnumerateObject())
        {
            var value = field.Value;
            switch (field.Name)
            {
                case "type":
                    break;
                case "session": Assert.Equal(value.GetString(), frame.Session); break;
                case "user": Assert.Equal(value.GetString(), frame.User); break;
                case "info": Assert.Equal(value.GetRawText(), frame.Info.GetRawText()); break;
                case "node": Assert.Equal(value.GetString(), frame.Node); break;
                case "transport": Assert.Equal(value.GetString(), frame.Transport); break;
                case "version": Assert.Equal(1, value.GetInt32()); break;
                case "ping": Assert.Equal(value.GetInt32(), frame.Ping); break;
                case "id": Assert.Equal(value.GetInt64(), frame.Id); break;
                case "result": Assert.Equal(value.GetRawText(), frame.Result.GetRawText()); break;
                case "error":
                    Assert.Equal(value.GetProperty("code").GetString(), frame.ErrorCode);
                    Assert.Equal(value.GetProperty("message").GetString(), frame.ErrorMessage);
                    break;
                case "channel": Assert.Equal(value.GetString(), frame.Channel); break;
                case "epoch": Assert.Equal(value.GetString(), frame.Epoch); break;
                case "offset": Assert.Equal(value.GetInt64(), frame.Offset); break;
                case "recovered": Assert.Equal(value.GetBoolean(), frame.Recovered); break;
                case "data": Assert.Equal(value.GetRawText(), frame.Data.GetRawText()); break;
                case "binary": Assert.Equal(value.GetBytesFromBase64(), frame.Binary); break;
                case "code" when frame.Type == ServerFrameType.Disconnect: Assert.Equal(value.GetInt32(), frame.DisconnectCode); break;
                case "code": Assert.Equal(value.GetString(), frame.ErrorCode); break;
                case "reason" when frame.Type == ServerFrameType.Disconnect: Assert.Equal(value.GetString(), frame.Reason); break;
                case "reason": Assert.Equal(value.GetString(), frame.ErrorMessage); break;
                case "message": Assert.Equal(value.GetString(), frame.ErrorMessage); break;
                case "reconnect": Assert.Equal(value.GetBoolean(), frame.Reconnect); break;
                default:
                    Assert.Fail($"{name}: the field '{field.Name}' is not one the client reads; teach this test what it means.");
                    break;
            }
        }
    }

    [Theory, MemberData(nameof(InvalidServerFrames))]
    public void Invalid_server_frames_are_rejected_as_bad_frames(string name, string entry)
    {
        var text = Parse(entry).GetProperty("text").GetString()!;

        var error = Assert.Throws<PubSubException>(() => ParseFrame(text));

        Assert.True(error.Code == PubSubErrorCodes.BadFrame, name);
    }

    [Theory, MemberData(nameof(IgnoredServerFrames))]
    public void Server_frames_of_types_the_client_does_not_know_are_ignored(string name, string entry)
    {
        var text = Parse(entry).GetProperty("text").GetString()!;

        var frame = ParseFrame(text);

        Assert.True(frame.Type == ServerFrameType.Unknown, name);
    }

    [Theory, MemberData(nameof(NegotiateExamples))]
    public void Negotiate_answers_parse(string name, string entry)
    {
        var body = Parse(entry).GetProperty("body");

        AssertNegotiate(name, body);
    }

    [Fact]
    public void The_default_negotiate_answer_parses() => AssertNegotiate("default", ProtocolVectors.Read("negotiate.json").GetProperty("default"));

    private static void AssertNegotiate(string name, JsonElement body)
    {
        var info = JsonSerializer.Deserialize(body.GetRawText(), ProtocolJsonContext.Default.NegotiateResponse)!;

        Assert.True(body.GetProperty("version").GetInt32() == info.Version, name);
        Assert.Equal(body.GetProperty("node").GetString(), info.Node);
        Assert.Equal(body.GetProperty("transports").EnumerateArray().Select(t => t.GetString()), info.Transports!);
        Assert.Equal(body.GetProperty("encodings").EnumerateArray().Select(t => t.GetString()), info.Encodings!);
        Assert.Equal(body.GetProperty("ping").GetInt32(), info.Ping);
        Assert.Equal(body.GetProperty("pollTimeout").GetInt32(), info.PollTimeout);
        Assert.Equal(body.GetProperty("maxMessageSize").GetInt32(), info.MaxMessageSize);
    }

    /// <summary>The frame the client builds for what a vector says is read from it.</summary>
    private static byte[] Build(JsonElement parsed) => MessagePackVectorTests.Build(JsonFrameCodec.Instance, parsed);

    private static ServerFrame ParseFrame(string text) => ServerFrameParser.Parse(Encoding.UTF8.GetBytes(text));

    private static JsonElement Parse(string json) => JsonSerializer.Deserialize<JsonElement>(json);

    /// <summary>Minified, with the client's escaping, as the client writes JSON.</summary>
    private static string Minify(JsonElement element)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, ClientFrames.WriterOptions))
        {
            element.WriteTo(writer);
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
