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
}
