using System.Text;
using System.Text.Json;
using PubSub.Stomp;

namespace PubSub.Server.Tests.Stomp;

/// <summary>
/// The STOMP reader and writer against protocol/stomp.json (docs/protocol.md, section 7.1): every
/// message the reader takes gives the vector's frames, headers in order and unescaped; every
/// message it refuses is refused with the vector's reason; every server frame is written byte for byte.
/// </summary>
public sealed class StompFrameVectorTests
{
    private const string File = "stomp.json";

    public static TheoryData<string, string> Read => ProtocolVectors.Cases(File, "read");

    public static TheoryData<string, string> Refused => ProtocolVectors.Cases(File, "refused");

    public static TheoryData<string, string> Written => ProtocolVectors.Cases(File, "written");

    [Theory]
    [MemberData(nameof(Read))]
    public void The_reader_reads_each_frame_of_a_message(string name, string vector)
    {
        var entry = JsonSerializer.Deserialize<JsonElement>(vector);
        var frames = ReadAll(entry, out var outcome, out var problem);

        Assert.True(outcome == StompRead.End, $"{name}: {problem}");
        var expected = entry.GetProperty("frames").EnumerateArray().ToList();
        Assert.Equal(expected.Count, frames.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].GetProperty("command").GetString(), frames[i].Command);
            var headers = expected[i].GetProperty("headers").EnumerateArray()
                .Select(h => new KeyValuePair<string, string>(h[0].GetString()!, h[1].GetString()!)).ToList();
            Assert.Equal(headers, frames[i].Headers);
            Assert.Equal(expected[i].GetProperty("body").GetString(), Encoding.UTF8.GetString(frames[i].Body.Span));
        }
        if (entry.TryGetProperty("first", out var first))
        {
            foreach (var header in first.EnumerateObject())
            {
                Assert.Equal(header.Value.GetString(), frames[0][header.Name]);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Refused))]
    public void The_reader_refuses_what_is_no_frame_and_reads_nothing_after_it(string name, string vector)
    {
        var entry = JsonSerializer.Deserialize<JsonElement>(vector);
        var frames = ReadAll(entry, out var outcome, out var problem);

        Assert.True(outcome == StompRead.Invalid, name);
        Assert.Contains(entry.GetProperty("problem").GetString()!, problem, StringComparison.Ordinal);
        Assert.Equal(entry.TryGetProperty("frames", out var before) ? before.GetInt32() : 0, frames.Count);
    }

    [Theory]
    [MemberData(nameof(Written))]
    public void The_writer_writes_each_server_frame_byte_for_byte(string name, string vector)
    {
        var entry = JsonSerializer.Deserialize<JsonElement>(vector);
        var framing = new StompFraming("v12.stomp") { Version = VersionOf(entry) };
        byte[] written;
        if (entry.TryGetProperty("publication", out var p))
        {
            var data = p.TryGetProperty("binary", out var binary)
                ? Payload.FromBinary(Convert.FromBase64String(binary.GetString()!))
                : Payload.FromJson(p.GetProperty("data"));
            var channel = p.GetProperty("channel").GetString()!;
            var publication = new Publication(channel, p.GetProperty("offset").GetInt64(), p.GetProperty("epoch").GetString()!, data);
            var shared = PubSub.Sessions.OutboundFrame.Publication(framing.Message(publication), channel, publication.Position);
            var subscription = entry.GetProperty("subscription").GetString()!;
            if (subscription != channel)
            {
                // The client's own id; a subscription the server made names its channel.
                framing.AddSubscription(channel, subscription);
            }
            written = framing.ForSubscriber(shared).Bytes.ToArray();
        }
        else if (entry.TryGetProperty("receipt", out var receipt))
        {
            written = framing.Receipt(receipt.GetString()!);
        }
        else
        {
            var error = entry.GetProperty("error");
            written = framing.ErrorFrame(error.GetProperty("code").GetString()!, error.GetProperty("message").GetString()!, error.GetProperty("receipt").GetString());
        }

        Assert.True(entry.GetProperty("wire").GetString() == Encoding.UTF8.GetString(written), $"{name}: {Encoding.UTF8.GetString(written)}");
    }

    [Fact]
    public void What_the_writer_writes_the_reader_reads_back_in_every_version()
    {
        string[] awkward = ["plain", "a:b", "back\\slash", "line\nfeed", "été"];
        foreach (var version in new[] { StompVersion.V11, StompVersion.V12 })
        {
            var headers = awkward.Select((v, i) => new KeyValuePair<string, string>($"h{i}:{v}", v)).ToArray();
            var wire = StompFrameWriter.Write(StompCommands.Message, version, headers, "body\0with nul"u8);
            ReadOnlyMemory<byte> rest = wire;

            Assert.Equal(StompRead.Frame, StompFrameReader.Read(ref rest, version, out var frame, out var problem));
            Assert.True(problem.Length == 0, problem);
            Assert.Equal([.. headers, new("content-length", "13")], frame!.Headers);
            Assert.Equal("body\0with nul", Encoding.UTF8.GetString(frame.Body.Span));
        }
    }

    private static StompVersion VersionOf(JsonElement entry) => entry.GetProperty("version").GetString() switch
    {
        "1.0" => StompVersion.V10,
        "1.1" => StompVersion.V11,
        _ => StompVersion.V12,
    };

    private static List<StompFrame> ReadAll(JsonElement entry, out StompRead outcome, out string problem)
    {
        ReadOnlyMemory<byte> rest = Encoding.UTF8.GetBytes(entry.GetProperty("wire").GetString()!);
        var version = VersionOf(entry);
        var frames = new List<StompFrame>();
        // A message of n bytes holds at most n frames: the loop is bounded.
        for (var guard = rest.Length + 1; guard > 0; guard--)
        {
            outcome = StompFrameReader.Read(ref rest, version, out var frame, out problem);
            if (outcome != StompRead.Frame)
            {
                return frames;
            }
            frames.Add(frame!);
        }
        throw new InvalidOperationException("The reader did not come to an end.");
    }
}
