using System.Text;
using PubSub.Protocol;

namespace PubSub.Server.Tests.Protocol;

public sealed class ClientFrameParserTests
{
    private static ClientFrame Parse(string json)
    {
        Assert.True(ClientFrameParser.TryParse(Encoding.UTF8.GetBytes(json), out var frame, out var error), error.Message);
        return frame!;
    }

    private static ProtocolError Refuse(string json)
    {
        Assert.False(ClientFrameParser.TryParse(Encoding.UTF8.GetBytes(json), out _, out var error));
        return error;
    }

    [Fact]
    public void A_subscribe_with_since_is_read_whatever_the_field_order()
    {
        var frame = Parse("""{"since":{"offset":41,"epoch":"q7k2"},"channel":"chat/lobby","id":9,"type":"subscribe"}""");

        Assert.Equal(ClientFrameType.Subscribe, frame.Type);
        Assert.Equal(9, frame.Id);
        Assert.Equal("chat/lobby", frame.Channel);
        Assert.Equal(new StreamPosition(41, "q7k2"), frame.Since);
    }

    [Theory]
    // Compact text without escapes is kept as sent, spaces inside strings and all.
    [InlineData("""{"text":"hello world","n":[1,2.5,-3e2],"ok":true,"none":null}""", """{"text":"hello world","n":[1,2.5,-3e2],"ok":true,"none":null}""")]
    [InlineData("\"caf\\u00e9\"", "\"café\"")]
    [InlineData("""[ 1 ,2 ]""", "[1,2]")]
    [InlineData("7", "7")]
    [InlineData("""{"q":"a \"quoted\" word"}""", """{"q":"a \"quoted\" word"}""")]
    public void Publish_data_reads_as_the_same_minified_text_whether_or_not_it_came_compact(string data, string expected)
    {
        var frame = Parse($$"""{"type":"publish","channel":"c","data":{{data}}}""");

        Assert.Equal(expected, frame.Data!.Value.ToString());
    }

    [Fact]
    public void Compact_data_with_bytes_that_are_not_utf8_is_refused_as_before()
    {
        var text = Encoding.UTF8.GetBytes("""{"type":"publish","id":4,"channel":"c","data":"ab"}""");
        text[^3] = 0xFF;

        Assert.False(ClientFrameParser.TryParse(text, out _, out var error));
        Assert.Equal((PubSubErrorCodes.BadRequest, 4L), (error.Code, error.Id));
    }

    [Fact]
    public void Publish_data_is_minified_so_it_can_never_carry_a_raw_newline()
    {
        var frame = Parse("{\"type\":\"publish\",\"channel\":\"c\",\"data\":{\n  \"text\" : \"line1\\nline2\",\n  \"n\": [1, 2]\n}}");

        Assert.Equal("{\"text\":\"line1\\nline2\",\"n\":[1,2]}", frame.Data!.Value.ToString());
        Assert.DoesNotContain((byte)'\n', frame.Data!.Value.Bytes.ToArray());
        Assert.False(frame.Data!.Value.IsBinary);
    }

    [Fact]
    public void Binary_is_decoded_from_base64()
    {
        var frame = Parse("""{"type":"publish","channel":"c","binary":"AAEC/w=="}""");

        Assert.True(frame.Data!.Value.IsBinary);
        Assert.Equal(new byte[] { 0, 1, 2, 255 }, frame.Data!.Value.Bytes.ToArray());
    }

    [Fact]
    public void Escaped_field_names_are_recognised()
    {
        var frame = Parse("""{"\u0074ype":"ping","\u0069d":3}""");

        Assert.Equal(ClientFrameType.Ping, frame.Type);
        Assert.Equal(3, frame.Id);
    }

    [Fact]
    public void An_error_keeps_the_id_when_it_was_readable()
    {
        var error = Refuse("""{"type":"publish","id":12,"channel":"c"}""");

        Assert.Equal(PubSubErrorCodes.BadRequest, error.Code);
        Assert.Equal(12, error.Id);
    }

    [Theory]
    [InlineData("""{"type":"ping","id":9007199254740992}""")]
    [InlineData("""{"type":"ping","id":1.5}""")]
    [InlineData("""{"type":"history","channel":"c","limit":1001}""")]
    [InlineData("""{"type":"subscribe","channel":"c","since":{"epoch":"e","offset":-1}}""")]
    [InlineData("""{"type":"subscribe","channel":"c","since":[1]}""")]
    [InlineData("""{"type":5}""")]
    public void Out_of_range_or_ill_typed_values_are_bad_requests(string json)
    {
        Assert.Equal(PubSubErrorCodes.BadRequest, Refuse(json).Code);
    }

    [Fact]
    public void Deeply_nested_data_is_refused_rather_than_exhausting_the_stack()
    {
        var json = "{\"type\":\"publish\",\"channel\":\"c\",\"data\":" + new string('[', 200) + new string(']', 200) + "}";

        Assert.Equal(PubSubErrorCodes.BadRequest, Refuse(json).Code);
    }

    [Theory]
    [InlineData("""{"type":"publish","id":4,"channel":"c","data":"\ud800"}""", "'data'")]
    [InlineData("""{"type":"publish","channel":"c","data":{"text":["x\udc00"]},"id":4}""", "'data'")]
    [InlineData("""{"type":"publish","id":4,"channel":"c","data":{"\ud800":1}}""", "'data'")]
    [InlineData("""{"type":"publish","id":4,"channel":"c","data":"\ud800\u0041"}""", "'data'")]
    [InlineData("""{"type":"subscribe","id":4,"channel":"chat/\ud800"}""", "'channel'")]
    [InlineData("""{"type":"\udfff","id":4}""", "'type'")]
    [InlineData("""{"type":"subscribe","id":4,"channel":"c","since":{"epoch":"\ud800","offset":1}}""", "'since.epoch'")]
    public void Text_that_is_not_valid_unicode_is_a_bad_request_that_keeps_the_id(string json, string field)
    {
        var error = Refuse(json);

        Assert.Equal(PubSubErrorCodes.BadRequest, error.Code);
        Assert.Equal(4, error.Id);
        Assert.Contains(field, error.Message, StringComparison.Ordinal);
        Assert.Contains("not valid Unicode", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_field_name_that_is_not_valid_unicode_is_an_unknown_field()
    {
        var frame = Parse("""{"type":"ping","\ud800":1,"id":3}""");

        Assert.Equal(ClientFrameType.Ping, frame.Type);
        Assert.Equal(3, frame.Id);
    }

    [Fact]
    public void Data_with_bytes_that_are_not_utf8_is_refused_rather_than_altered()
    {
        var json = Encoding.UTF8.GetBytes("""{"type":"publish","id":4,"channel":"c","data":"xx"}""");
        // "xx" becomes 0xFF 0xFE: no UTF-8 sequence starts with either.
        var at = Array.IndexOf(json, (byte)'x');
        json[at] = 0xFF;
        json[at + 1] = 0xFE;

        Assert.False(ClientFrameParser.TryParse(json, out _, out var error));
        Assert.Equal(PubSubErrorCodes.BadRequest, error.Code);
        Assert.Equal(4, error.Id);
        Assert.Contains("not UTF-8", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_surrogate_pair_is_valid_unicode_and_goes_through()
    {
        var frame = Parse("""{"type":"publish","channel":"c","data":{"\ud83d\ude00":"\ud83d\ude00"}}""");

        Assert.Equal("\U0001F600", frame.Data!.Value.ToJsonElement().GetProperty("\U0001F600").GetString());
    }

    [Theory]
    [InlineData("\"\\ud800\"")]
    [InlineData("[\"\\udc00\"]")]
    [InlineData("{\"\\ud800\":1}")]
    public void Payload_from_json_with_a_lone_surrogate_throws_an_argument_exception_that_says_so(string json)
    {
        var error = Assert.Throws<ArgumentException>(() => Payload.FromJson(Encoding.UTF8.GetBytes(json)));

        Assert.Contains("not valid Unicode", error.Message, StringComparison.Ordinal);
        Assert.Contains("lone surrogate", error.Message, StringComparison.Ordinal);
    }
}
