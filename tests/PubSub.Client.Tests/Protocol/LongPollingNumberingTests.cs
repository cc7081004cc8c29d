using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using PubSub.Client.Transports;

namespace PubSub.Client.Tests.Protocol;

/// <summary>The ack rule of protocol section 3.4: frames are numbered from the ack the poll sent, and numbers already seen are skipped.</summary>
public sealed class LongPollingNumberingTests
{
    [Fact]
    public void Frames_are_numbered_from_the_ack_and_a_resent_response_delivers_nothing_twice()
    {
        var (transport, sink) = Create();

        transport.Deliver(Batch("a", "b"), ack: 0, sink);
        // The response to ack 0 was lost on the way back... no: it arrived, but the server sends
        // it again to a retried poll with the same ack, now with one more frame.
        transport.Deliver(Batch("a", "b", "c"), ack: 0, sink);
        transport.Deliver(Batch("d"), ack: 3, sink);

        Assert.Equal(["a", "b", "c", "d"], sink.Frames);
        Assert.Equal(4, transport.Received);
    }

    [Fact]
    public void A_late_superseded_response_is_skipped_by_its_numbers()
    {
        var (transport, sink) = Create();
        transport.Deliver(Batch("a", "b", "c"), ack: 0, sink);

        // An older response (to ack 1) arrives after the newer one.
        transport.Deliver(Batch("b", "c"), ack: 1, sink);

        Assert.Equal(["a", "b", "c"], sink.Frames);
        Assert.Equal(3, transport.Received);
    }

    [Fact]
    public void Empty_lines_and_a_trailing_newline_are_not_frames()
    {
        var (transport, sink) = Create();

        transport.Deliver(Encoding.UTF8.GetBytes("a\n\nb\n"), ack: 0, sink);

        Assert.Equal(["a", "b"], sink.Frames);
        Assert.Equal(2, transport.Received);
    }

    private static byte[] Batch(params string[] frames) => Encoding.UTF8.GetBytes(string.Join('\n', frames));

    private static (LongPollingTransport, RecordingSink) Create()
    {
        var transport = new LongPollingTransport(new TransportContext
        {
            BaseUri = new Uri("http://127.0.0.1:9/pubsub"),
            Http = new HttpClient(),
            Headers = new Dictionary<string, string>(),
            Time = TimeProvider.System,
            LoggerFactory = NullLoggerFactory.Instance,
            RequestTimeout = TimeSpan.FromSeconds(1),
        });
        return (transport, new RecordingSink());
    }

    private sealed class RecordingSink : ITransportSink
    {
        public List<string> Frames { get; } = [];

        public void OnFrame(ReadOnlySpan<byte> frame) => Frames.Add(Encoding.UTF8.GetString(frame));

        public void OnActivity()
        {
        }

        public void OnClosed(TransportClosed closed)
        {
        }
    }
}
