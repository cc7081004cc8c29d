using System.Text;
using PubSub.Sessions;

namespace PubSub.Server.Tests.Sessions;

/// <summary>
/// What counts against a session's outbound limit, and who is to blame for going past it: the
/// client when the transport waits on it, the node when it has not written yet.
/// </summary>
public sealed class OutboundQueueTests
{
    private const int Limit = 1000;

    private static OutboundFrame Frame(int length) => new(Encoding.ASCII.GetBytes(new string('x', length)));

    [Fact]
    public void Past_the_limit_a_frame_is_refused_while_the_transport_waits_on_the_client()
    {
        var queue = new OutboundQueue(Limit);
        Assert.Equal(EnqueueResult.Queued, queue.TryEnqueue(Frame(600)));
        queue.MarkWaitingOnClient(timestamp: 1);

        Assert.Equal(EnqueueResult.Overflow, queue.TryEnqueue(Frame(600)));
        Assert.Equal(600, queue.HeldBytes);
    }

    [Fact]
    public void A_node_that_has_not_written_yet_may_fall_behind_a_healthy_client_up_to_the_lag_factor()
    {
        var queue = new OutboundQueue(Limit);

        // Nothing waits on the client: the writer simply has not run (a busy node).
        Assert.Equal(EnqueueResult.Queued, queue.TryEnqueue(Frame(600)));
        Assert.Equal(EnqueueResult.Queued, queue.TryEnqueue(Frame(600)));
        Assert.Equal(EnqueueResult.Queued, queue.TryEnqueue(Frame(700)));
        // Memory wins past that.
        Assert.Equal(EnqueueResult.Overflow, queue.TryEnqueue(Frame(200)));
        Assert.Equal(Limit * OutboundQueue.LagFactor - 100, queue.HeldBytes);
    }

    [Fact]
    public void Frames_the_transport_took_count_until_the_client_has_taken_them()
    {
        var queue = new OutboundQueue(Limit);
        queue.TryEnqueue(Frame(600));
        var taken = queue.DequeueBatch([], int.MaxValue);
        queue.MarkWaitingOnClient(timestamp: 1);

        Assert.Equal(600, queue.HeldBytes);
        Assert.Equal(EnqueueResult.Overflow, queue.TryEnqueue(Frame(600)));

        queue.MarkClientCaughtUp();
        queue.Release(taken);
        Assert.Equal(0, queue.HeldBytes);
        Assert.Equal(EnqueueResult.Queued, queue.TryEnqueue(Frame(600)));
    }

    [Fact]
    public async Task Catch_up_traffic_waits_for_the_client_to_take_what_is_on_its_way()
    {
        var queue = new OutboundQueue(Limit);
        queue.TryEnqueue(Frame(600));
        var taken = queue.DequeueBatch([], int.MaxValue);

        var room = queue.WaitForRoomAsync(600, CancellationToken.None).AsTask();
        Assert.False(room.IsCompleted);
        queue.Release(taken);

        await room.WithTimeout("room for the next replayed frame");
    }
}
