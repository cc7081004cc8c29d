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
    public async Task A_waiting_reader_learns_of_a_frame_and_of_a_last_frame_left_by_completing()
    {
        var queue = new OutboundQueue(Limit);
        var waiting = queue.WaitToReadAsync(CancellationToken.None);
        Assert.False(waiting.IsCompleted);
        queue.TryEnqueue(Frame(10));
        Assert.True(await waiting.AsTask().WithTimeout("the wait"));
        Assert.Equal(1, queue.DequeueBatch([], Limit) > 0 ? 1 : 0);

        var last = queue.WaitToReadAsync(CancellationToken.None);
        queue.Complete(Frame(5), discardPending: false);

        Assert.True(await last.AsTask().WithTimeout("the wait for the last frame"));
        var batch = new List<OutboundFrame>();
        queue.DequeueBatch(batch, Limit);
        Assert.Single(batch);
        Assert.False(await queue.WaitToReadAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_wait_answered_before_the_queue_was_emptied_by_completing_finds_nothing_and_then_the_end()
    {
        var queue = new OutboundQueue(Limit);
        var waiting = queue.WaitToReadAsync(CancellationToken.None);
        queue.TryEnqueue(Frame(10));
        queue.Complete(last: null, discardPending: true);

        // The answer came with the frame; the reader finds the queue empty and asks again.
        Assert.True(await waiting.AsTask().WithTimeout("the wait"));
        Assert.Equal(0, queue.DequeueBatch([], Limit));
        Assert.False(await queue.WaitToReadAsync(CancellationToken.None));
    }

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
