using System.Text;
using System.Text.Json;
using PubSub.Protocol;

namespace PubSub.Server.Tests.Protocol;

/// <summary>
/// The MessagePack encoding against protocol/frames/msgpack.json (docs/protocol.md, section 6):
/// every server frame built by the server's writers byte for byte, every client frame and batch
/// read as its JSON counterpart is, and every refused input answered with the vector's code and id.
/// </summary>
public sealed class MessagePackVectorTests
{
    private const string File = "frames/msgpack.json";

    public static TheoryData<string, string> ServerFrames => ProtocolVectors.Cases(File, "server");

    public static TheoryData<string, string> ClientFrames => ProtocolVectors.Cases(File, "client");

    public static TheoryData<string, string> Batches => ProtocolVectors.Cases(File, "batches");

    public static TheoryData<string, string> InvalidClientFrames => ProtocolVectors.Cases(File, "clientInvalid");

    /// <summary>The bytes of a vector: 'hex', then 'repeat' repeated 'times' times, then 'suffix'.</summary>
    internal static byte[] BytesOf(JsonElement entry)
    {
        var bytes = new List<byte>(Convert.FromHexString(entry.GetProperty("hex").GetString()!));
        if (entry.TryGetProperty("repeat", out var repeat))
        {
            var unit = Convert.FromHexString(repeat.GetString()!);
            for (var i = 0; i < entry.GetProperty("times").GetInt32(); i++)
            {
                bytes.AddRange(unit);
            }
            bytes.AddRange(Convert.FromHexString(entry.GetProperty("suffix").GetString()!));
        }
        return [.. bytes];
    }

    private static JsonElement Entry(string vector) => JsonSerializer.Deserialize<JsonElement>(vector);

    [Theory]
    [MemberData(nameof(ServerFrames))]
    public void A_server_frame_is_written_byte_for_byte_as_the_vector_shows(string name, string vector)
    {
        var entry = Entry(vector);
        var frame = JsonSerializer.Deserialize<JsonElement>(entry.GetProperty("json").GetString()!);

        Assert.True(entry.GetProperty("hex").GetString() == Convert.ToHexStringLower(ProtocolVectorsTests.Build(FrameEncoding.MessagePack, frame)), name);
    }

    [Theory]
    [MemberData(nameof(ServerFrames))]
    public void A_server_frames_history_bound_holds_for_its_encoding(string name, string vector)
    {
        var frame = JsonSerializer.Deserialize<JsonElement>(Entry(vector).GetProperty("json").GetString()!);
        if (!frame.TryGetProperty("result", out var result) || !result.TryGetProperty("publications", out _))
        {
            return;
        }
        var built = ProtocolVectorsTests.Build(FrameEncoding.MessagePack, frame);
        var page = new HistoryPage(new StreamPosition(result.GetProperty("offset").GetInt64(), result.GetProperty("epoch").GetString()!),
            [.. result.GetProperty("publications").EnumerateArray().Select(p => new Publication("any", p.GetProperty("offset").GetInt64(), "e",
                p.TryGetProperty("binary", out var b) ? Payload.FromBinary(b.GetBytesFromBase64()) : Payload.FromJson(Encoding.UTF8.GetBytes(p.GetProperty("data").GetRawText()))))]);

        Assert.True(FrameEncoding.MessagePack.ReplyHistoryUpperBound(page) >= built.Length, name);
    }

    [Theory]
    [MemberData(nameof(ClientFrames))]
    public void A_client_frame_is_read_as_its_json_counterpart(string name, string vector)
    {
        var entry = Entry(vector);
        Assert.True(ClientFrameParser.TryParse(Encoding.UTF8.GetBytes(entry.GetProperty("json").GetString()!), out var expected, out _), name);
        ReadOnlyMemory<byte> rest = Convert.FromHexString(entry.GetProperty("hex").GetString()!);

        Assert.Equal(FrameRead.Frame, FrameEncoding.MessagePack.ReadFrame(ref rest, out var frame, out var error));
        Assert.True(rest.IsEmpty, name);
        Assert.True(ProtocolVectorsTests.Describe(expected!) == ProtocolVectorsTests.Describe(frame!), $"{name}: {error.Message}");
        Assert.Equal(expected!.Data, frame!.Data);
    }

    [Theory]
    [MemberData(nameof(Batches))]
    public void Every_frame_of_a_batch_is_read_in_order(string name, string vector)
    {
        var entry = Entry(vector);
        ReadOnlyMemory<byte> rest = Convert.FromHexString(entry.GetProperty("hex").GetString()!);
        var read = new List<string>();
        while (FrameEncoding.MessagePack.ReadFrame(ref rest, out var frame, out var error) != FrameRead.End)
        {
            Assert.True(frame is not null, $"{name}: {error.Message}");
            read.Add(ProtocolVectorsTests.Describe(frame));
        }

        var expected = entry.GetProperty("frames").EnumerateArray().Select(f =>
        {
            Assert.True(ClientFrameParser.TryParse(Encoding.UTF8.GetBytes(f.GetString()!), out var parsed, out _));
            return ProtocolVectorsTests.Describe(parsed!);
        });
        Assert.Equal(expected, read);
    }

    [Theory]
    [MemberData(nameof(InvalidClientFrames))]
    public void A_refused_client_frame_gets_the_vectors_code_and_id(string name, string vector)
    {
        var entry = Entry(vector);
        ReadOnlyMemory<byte> rest = BytesOf(entry);

        Assert.True(FrameEncoding.MessagePack.ReadFrame(ref rest, out _, out var error) == FrameRead.Invalid, name);
        Assert.Equal(entry.GetProperty("code").GetString(), error.Code);
        Assert.Equal(entry.TryGetProperty("id", out var id) ? id.GetInt64() : null, error.Id);
    }

    [Fact]
    public void After_a_value_that_does_not_decode_nothing_more_is_read_but_after_an_invalid_frame_the_next_is()
    {
        var ping = Convert.FromHexString("81a474797065a470696e67");
        ReadOnlyMemory<byte> undecodable = (byte[])[.. Convert.FromHexString("81a474797065dbffffffff"), .. ping];
        ReadOnlyMemory<byte> invalid = (byte[])[.. Convert.FromHexString("920102"), .. ping];

        Assert.Equal(FrameRead.Invalid, FrameEncoding.MessagePack.ReadFrame(ref undecodable, out _, out _));
        Assert.Equal(FrameRead.End, FrameEncoding.MessagePack.ReadFrame(ref undecodable, out _, out _));
        Assert.Equal(FrameRead.Invalid, FrameEncoding.MessagePack.ReadFrame(ref invalid, out _, out _));
        Assert.Equal(FrameRead.Frame, FrameEncoding.MessagePack.ReadFrame(ref invalid, out var frame, out _));
        Assert.Equal(ClientFrameType.Ping, frame!.Type);
    }

    [Theory]
    [InlineData(64, true)]
    [InlineData(65, false)]
    public void Data_may_nest_64_deep_and_no_deeper(int depth, bool decodes)
    {
        // {"type":"publish","id":1,"channel":"c","data": [[[...null...]]]}
        var bytes = new List<byte>(Convert.FromHexString("84a474797065a77075626c697368a2696401a76368616e6e656ca163a464617461"));
        bytes.AddRange(Enumerable.Repeat((byte)0x91, depth));
        bytes.Add(0xc0);
        ReadOnlyMemory<byte> rest = bytes.ToArray();

        Assert.Equal(decodes ? FrameRead.Frame : FrameRead.Invalid, FrameEncoding.MessagePack.ReadFrame(ref rest, out var frame, out _));
        if (frame is not null)
        {
            Assert.Equal(new string('[', depth) + "null" + new string(']', depth), frame.Data.ToString());
        }
    }

    [Theory]
    [InlineData("""{"a":1.0,"b":1e2,"c":-0,"d":18446744073709551615,"e":"\u00e9\n","f":[]}""")]
    [InlineData("""[0.1,-1.5e-7,9007199254740993,-9223372036854775808]""")]
    public void Json_data_survives_a_round_trip_through_messagepack_as_the_same_json_numbers(string json)
    {
        // A publish whose data is the MessagePack form the server writes for the stored JSON.
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        var writer = new MessagePack.MessagePackWriter(buffer);
        writer.WriteMapHeader(3);
        writer.Write("type");
        writer.Write("publish");
        writer.Write("channel");
        writer.Write("c");
        writer.Write("data");
        MessagePackData.WriteFromJson(ref writer, Payload.FromJson(Encoding.UTF8.GetBytes(json)).Bytes);
        writer.Flush();
        var publish = buffer.WrittenSpan.ToArray();
        ReadOnlyMemory<byte> rest = publish;

        Assert.Equal(FrameRead.Frame, FrameEncoding.MessagePack.ReadFrame(ref rest, out var frame, out var error));
        var back = JsonSerializer.Deserialize<JsonElement>(frame!.Data!.Value.Bytes.Span);
        var sent = JsonSerializer.Deserialize<JsonElement>(json);
        Assert.True(JsonElement.DeepEquals(sent, back) || NumbersEqual(sent, back), $"{json} came back as {frame.Data} ({error.Message})");
    }

    private static bool NumbersEqual(JsonElement a, JsonElement b) => a.ValueKind == b.ValueKind && a.ValueKind switch
    {
        JsonValueKind.Number => a.GetDouble() == b.GetDouble(),
        JsonValueKind.Array => a.GetArrayLength() == b.GetArrayLength() && a.EnumerateArray().Zip(b.EnumerateArray()).All(p => NumbersEqual(p.First, p.Second)),
        JsonValueKind.Object => a.EnumerateObject().Zip(b.EnumerateObject()).All(p => p.First.Name == p.Second.Name && NumbersEqual(p.First.Value, p.Second.Value)),
        _ => JsonElement.DeepEquals(a, b),
    };
}
