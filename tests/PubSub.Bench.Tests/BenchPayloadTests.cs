using System.Text;
using PubSub.Bench.Protocols;

namespace PubSub.Bench.Tests;

public class BenchPayloadTests
{
    [Theory]
    [InlineData(BenchPayload.MinimumSize)]
    [InlineData(100)]
    [InlineData(4096)]
    public void A_payload_has_exactly_the_requested_size_is_a_json_string_and_reads_back(int size)
    {
        var buffer = new byte[size];
        BenchPayload.Write(buffer, size, timestamp: 0x0123456789abcdef, sequence: 0xfedcba987);

        var text = Encoding.ASCII.GetString(buffer);
        Assert.Equal(size, text.Length);
        Assert.Equal("$$", System.Text.Json.JsonSerializer.Deserialize<string>(text)![..2]);
        Assert.True(BenchPayload.TryRead(buffer, out var timestamp, out var sequence));
        Assert.Equal(0x0123456789abcdef, timestamp);
        Assert.Equal(0xfedcba987, sequence);
    }

    [Fact]
    public void A_payload_smaller_than_the_minimum_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => BenchPayload.Write(new byte[64], BenchPayload.MinimumSize - 1, 1, 1));
    }

    [Fact]
    public void The_payload_is_found_inside_the_frames_of_both_protocols()
    {
        foreach (var protocol in new WireProtocol[] { PubSubProtocol.Instance, SignalRProtocol.Instance })
        {
            var frame = protocol.CreatePublishWriter("bench/x-1", 64).Write(42, 7).ToArray();
            Assert.True(BenchPayload.TryRead(frame, out var timestamp, out var sequence), protocol.Name);
            Assert.Equal((42L, 7L), (timestamp, sequence));
        }
    }

    [Theory]
    [InlineData("""{"type":"connected","session":"n1.abc","node":"n1","version":1,"transport":"websocket","ping":25}""")]
    [InlineData("""{"type":"message","channel":"bench/1","offset":3,"epoch":"e","data":"$$12"}""")]
    [InlineData("""{"type":1,"target":"message","arguments":["bench/1","$$zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"]}""")]
    public void Frames_without_a_whole_payload_are_not_deliveries(string frame)
    {
        Assert.False(BenchPayload.TryRead(Encoding.UTF8.GetBytes(frame), out _, out _));
    }
}
