using System.Text;
using PubSub.Bench.Clients;
using PubSub.Bench.Measurement;
using PubSub.Bench.Protocols;

namespace PubSub.Bench.Tests;

/// <summary>How received units become frames: PubSub batches, SignalR records that straddle units.</summary>
public class FramingTests
{
    private static byte[] Delivery(WireProtocol protocol, long sequence)
    {
        // A server frame carrying the payload; for the framer only the payload and the separators matter.
        var payload = new byte[40];
        BenchPayload.Write(payload, payload.Length, timestamp: 1, sequence);
        var text = protocol == SignalRProtocol.Instance
            ? $$"""{"type":1,"target":"message","arguments":["bench/1",{{Encoding.ASCII.GetString(payload)}}]}""" + "\u001e"
            : $$"""{"type":"message","channel":"bench/1","offset":{{sequence}},"epoch":"e","data":{{Encoding.ASCII.GetString(payload)}}}""";
        return Encoding.UTF8.GetBytes(text);
    }

    [Fact]
    public void A_pubsub_batch_yields_each_frame_and_skips_blank_lines()
    {
        var client = new FramingClient(PubSubProtocol.Instance);
        var batch = new List<byte>();
        batch.AddRange(Delivery(PubSubProtocol.Instance, 0));
        batch.AddRange("\n\n  \n"u8.ToArray());
        batch.AddRange(Delivery(PubSubProtocol.Instance, 1));
        batch.Add((byte)'\n');
        batch.AddRange("""{"type":"ping"}"""u8.ToArray());

        client.Feed(batch.ToArray(), unitComplete: true);

        Assert.Equal(2, client.Stats!.Received);
        Assert.Equal(3, client.FramesReceived);
        Assert.Equal(1, client.Sent);
    }

    [Fact]
    public void SignalR_records_split_anywhere_across_units_are_joined()
    {
        var stream = new List<byte>();
        stream.AddRange("{}\u001e"u8.ToArray());
        for (var i = 0; i < 5; i++)
        {
            stream.AddRange(Delivery(SignalRProtocol.Instance, i));
        }
        var bytes = stream.ToArray();

        // Every split point, including inside a record and right at a separator.
        for (var split = 0; split <= bytes.Length; split++)
        {
            var client = new FramingClient(SignalRProtocol.Instance);
            client.Feed(bytes[..split], unitComplete: true);
            client.Feed(bytes[split..], unitComplete: true);
            Assert.Equal(5, client.Stats!.Received);
            Assert.Equal(0, client.Stats.OutOfOrder);
            Assert.True(client.Connected.IsCompletedSuccessfully);
        }
    }

    [Fact]
    public void Deliveries_count_in_the_window_only_and_repeats_count_as_out_of_order()
    {
        var window = new RunWindow();
        var client = new FramingClient(PubSubProtocol.Instance, window);
        client.Feed(Delivery(PubSubProtocol.Instance, 0), true);
        window.Open(1);
        client.Feed(Delivery(PubSubProtocol.Instance, 1), true);
        client.Feed(Delivery(PubSubProtocol.Instance, 2), true);
        client.Feed(Delivery(PubSubProtocol.Instance, 2), true);
        window.Close(3);
        client.Feed(Delivery(PubSubProtocol.Instance, 3), true);

        Assert.Equal(5, client.Stats!.Received);
        Assert.Equal(3, client.Stats.WindowReceived);
        Assert.Equal(1, client.Stats.OutOfOrder);
        Assert.Equal(3, window.Latency.Count);
    }

    [Fact]
    public async Task A_disconnect_frame_closes_the_client_and_fails_waiting_requests()
    {
        var client = new FramingClient(PubSubProtocol.Instance);
        var request = client.RequestAsync(id => PubSubProtocol.Instance.Subscribe("bench/1", id), TimeSpan.FromSeconds(30));

        client.Feed("""{"type":"disconnect","code":4001,"reason":"slow","reconnect":true}"""u8.ToArray(), true);

        Assert.True(client.Disconnected);
        Assert.Contains("4001", client.CloseReason, StringComparison.Ordinal);
        await Assert.ThrowsAsync<IOException>(() => request);
    }
}
