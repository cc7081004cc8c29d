using System.Net.WebSockets;
using System.Text;
using PubSub.Protocol;
using PubSub.Sessions;
using PubSub.Transports;

namespace PubSub.Server.Tests.Transports;

/// <summary>The WebSocket writer sends whatever waits as one message (a unit test with a recording socket).</summary>
public sealed class CoalescingTests
{
    private static OutboundFrame Frame(string json) => new(Encoding.UTF8.GetBytes(json));

    [Fact]
    public async Task Frames_that_wait_together_travel_in_one_message_separated_by_newlines()
    {
        var queue = new OutboundQueue(1 << 20);
        queue.TryEnqueue(Frame("""{"type":"a"}"""));
        queue.TryEnqueue(Frame("""{"type":"b"}"""));
        queue.TryEnqueue(Frame("""{"type":"c"}"""));
        queue.Complete(Frame("""{"type":"disconnect"}"""), discardPending: false);
        var socket = new RecordingWebSocket();

        await WebSocketTransport.DrainAsync(queue, FrameEncoding.Json, socket, TimeProvider.System);

        Assert.Equal(["{\"type\":\"a\"}\n{\"type\":\"b\"}\n{\"type\":\"c\"}\n{\"type\":\"disconnect\"}"], socket.Messages);
    }

    [Fact]
    public async Task A_message_holds_no_more_than_the_coalescing_limit_and_a_larger_frame_goes_alone()
    {
        var queue = new OutboundQueue(1 << 22);
        var big = "\"" + new string('x', WebSocketTransport.MaxCoalescedBytes) + "\"";
        var medium = "\"" + new string('y', WebSocketTransport.MaxCoalescedBytes / 2) + "\"";
        queue.TryEnqueue(Frame(medium));
        queue.TryEnqueue(Frame(medium));
        queue.TryEnqueue(Frame(big));
        queue.TryEnqueue(Frame("1"));
        queue.Complete(null, discardPending: false);
        var socket = new RecordingWebSocket();

        await WebSocketTransport.DrainAsync(queue, FrameEncoding.Json, socket, TimeProvider.System);

        Assert.Equal([medium, medium, big, "1"], socket.Messages.SelectMany(m => m.Split('\n')));
        Assert.All(socket.Messages.Where(m => m.Contains('\n', StringComparison.Ordinal)), m => Assert.True(Encoding.UTF8.GetByteCount(m) <= WebSocketTransport.MaxCoalescedBytes));
        Assert.Contains(big, socket.Messages);
        // The frame larger than a message's share travels as one message in fragments of at most that size.
        Assert.All(socket.Fragments.SelectMany(f => f), length => Assert.True(length <= WebSocketTransport.MaxCoalescedBytes));
        Assert.Contains(socket.Fragments, f => f.Count == 2);
    }

    [Fact]
    public async Task A_slow_consumers_queue_is_dropped_and_only_the_disconnect_frame_remains()
    {
        var queue = new OutboundQueue(64);
        Assert.Equal(EnqueueResult.Queued, queue.TryEnqueue(Frame(new string('1', 40))));
        queue.MarkWaitingOnClient(TimeProvider.System.GetTimestamp());
        Assert.Equal(EnqueueResult.Overflow, queue.TryEnqueue(Frame(new string('2', 40))));
        queue.Complete(Frame("bye"), discardPending: true);
        var socket = new RecordingWebSocket();

        await WebSocketTransport.DrainAsync(queue, FrameEncoding.Json, socket, TimeProvider.System);

        Assert.Equal(["bye"], socket.Messages);
        Assert.Equal(EnqueueResult.Closed, queue.TryEnqueue(Frame("late")));
    }

    private sealed class RecordingWebSocket : WebSocket
    {
        public List<string> Messages { get; } = [];

        public override WebSocketCloseStatus? CloseStatus => null;

        public override string? CloseStatusDescription => null;

        public override WebSocketState State => WebSocketState.Open;

        public override string? SubProtocol => "pubsub.json";

        /// <summary>The fragments of each message, for the test of large messages.</summary>
        public List<List<int>> Fragments { get; } = [];

        private readonly List<byte> _message = [];
        private readonly List<int> _fragments = [];

        public override ValueTask SendAsync(ReadOnlyMemory<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken)
        {
            Assert.Equal(WebSocketMessageType.Text, messageType);
            _message.AddRange(buffer.Span);
            _fragments.Add(buffer.Length);
            if (endOfMessage)
            {
                Messages.Add(Encoding.UTF8.GetString([.. _message]));
                Fragments.Add([.. _fragments]);
                _message.Clear();
                _fragments.Clear();
            }
            return ValueTask.CompletedTask;
        }

        public override Task SendAsync(ArraySegment<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken) =>
            SendAsync(buffer.AsMemory(), messageType, endOfMessage, cancellationToken).AsTask();

        public override void Abort()
        {
        }

        public override Task CloseAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) => Task.CompletedTask;

        public override Task CloseOutputAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) => Task.CompletedTask;

        public override void Dispose()
        {
        }

        public override Task<WebSocketReceiveResult> ReceiveAsync(ArraySegment<byte> buffer, CancellationToken cancellationToken) =>
            throw new NotSupportedException();
    }
}
