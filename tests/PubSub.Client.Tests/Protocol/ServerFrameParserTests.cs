using System.Text;
using PubSub.Client.Protocol;

namespace PubSub.Client.Tests.Protocol;

public sealed class ServerFrameParserTests
{
    private static ServerFrame Parse(string json) => ServerFrameParser.Parse(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void Reads_a_message_with_json_data_whatever_the_field_order_and_ignores_unknown_fields()
    {
        var frame = Parse("""{"data":{"text":"hi"},"offset":42,"future":[1,{"x":2}],"epoch":"q7","channel":"chat/lobby","type":"message"}""");

        Assert.Equal(ServerFrameType.Message, frame.Type);
        Assert.Equal(new StreamPosition(42, "q7"), frame.Position);
        Assert.Equal("chat/lobby", frame.Channel);
        Assert.Equal("hi", frame.Data.GetProperty("text").GetString());
    }

    [Fact]
    public void Reads_binary_data_and_flags_base64_that_is_not()
    {
        var good = Parse("""{"type":"message","channel":"c","offset":1,"epoch":"e","binary":"AAECAw=="}""");
        var bad = Parse("""{"type":"message","channel":"c","offset":2,"epoch":"e","binary":"not base64!"}""");

        Assert.Equal([0, 1, 2, 3], good.Binary);
        Assert.False(good.BinaryInvalid);
        Assert.True(bad.BinaryInvalid);
        Assert.Equal(new StreamPosition(2, "e"), bad.Position);
    }

    [Fact]
    public void Reads_replies_errors_and_disconnects()
    {
        var result = Parse("""{"type":"reply","id":3,"result":{"epoch":"e","offset":4,"recovered":true}}""");
        var error = Parse("""{"type":"reply","id":9,"error":{"code":"unknown_channel","message":"No template."}}""");
        var disconnect = Parse("""{"type":"disconnect","code":4500,"reason":"Bye.","reconnect":false}""");
        var withoutFlag = Parse("""{"type":"disconnect","code":4001,"reason":"Slow."}""");

        Assert.Equal(3, result.Id);
        Assert.True(result.Result.GetProperty("recovered").GetBoolean());
        Assert.False(result.IsErrorReply);
        Assert.Equal("unknown_channel", error.ErrorCode);
        Assert.Equal("No template.", error.ErrorMessage);
        Assert.Equal((4500, false), (disconnect.DisconnectCode, disconnect.Reconnect));
        Assert.True(withoutFlag.Reconnect);
    }

    [Fact]
    public void Unknown_types_are_returned_as_unknown_not_rejected()
    {
        var frame = Parse("""{"type":"presence","channel":"c","who":["a"]}""");

        Assert.Equal(ServerFrameType.Unknown, frame.Type);
        Assert.Equal("presence", frame.TypeName);
    }

    [Theory]
    [InlineData("", "not valid JSON")]
    [InlineData("{\"type\":\"ping\"} {}", "not valid JSON")]
    [InlineData("\"ping\"", "must be a JSON object")]
    [InlineData("{\"type\":7}", "'type' must be a string")]
    [InlineData("{\"type\":\"connected\"}", "needs 'session'")]
    [InlineData("{\"type\":\"connected\",\"session\":\"a.b\",\"version\":2}", "protocol version 2")]
    [InlineData("{\"type\":\"message\",\"channel\":\"c\",\"epoch\":\"e\",\"offset\":0,\"data\":1}", "offset must be at least 1")]
    [InlineData("{\"type\":\"message\",\"channel\":\"c\",\"epoch\":\"e\",\"offset\":1,\"data\":1,\"binary\":\"AA==\"}", "exactly one of 'data' and 'binary'")]
    [InlineData("{\"type\":\"reply\",\"id\":1,\"error\":{\"message\":\"x\"}}", "string 'code'")]
    [InlineData("{\"type\":\"unsubscribed\",\"channel\":\"c\",\"code\":4,\"reason\":\"x\"}", "'code' must be a string")]
    [InlineData("{\"type\":\"subscribed\",\"channel\":\"c\",\"epoch\":\"e\",\"offset\":1,\"recovered\":\"yes\"}", "'recovered' must be true or false")]
    public void Malformed_frames_are_rejected_with_the_problem_and_a_quote(string json, string problem)
    {
        var error = Assert.Throws<PubSubException>(() => Parse(json));

        Assert.Equal(PubSubErrorCodes.BadFrame, error.Code);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
        Assert.Contains($"'{json}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_long_bad_frame_is_quoted_in_part()
    {
        var json = "{\"type\":" + new string(' ', 1000) + "}";

        var error = Assert.Throws<PubSubException>(() => Parse(json));

        Assert.Contains($"({json.Length} bytes)", error.Message, StringComparison.Ordinal);
        Assert.True(error.Message.Length < 400);
    }
}
