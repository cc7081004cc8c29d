namespace PubSub.Sessions;

internal enum EnqueueResult
{
    Queued,
    /// <summary>The session holds too much the client has not taken; the frame was not queued.</summary>
    Overflow,
    /// <summary>The queue is completed; the frame was dropped.</summary>
    Closed,
}

/// <summary>
/// The frames waiting to be written to one session, bounded in bytes. Any thread may enqueue (the
/// fan-out, replies, the heartbeat); one transport reads at a time. Completing the queue with a
/// last frame lets the transport write it and end.
/// </summary>
/// <remarks>
/// <para>The bytes counted against the limit are everything the session holds for its client:
/// frames waiting, and frames the transport took but the client has not taken yet (a write in
/// progress; on long-polling, frames sent but not acknowledged). The transport gives them back
/// with <see cref="Release"/>.</para>
/// <para>Overflowing makes the session a slow consumer, and the rule judges the client, not the
/// node: past the limit, a frame is refused while the transport waits for the client to take a
/// write (<see cref="MarkWaitingOnClient"/>), because then the client is what holds the bytes up.
/// While nothing waits on the client, the node itself is behind (a busy node has not run the
/// session's writer yet), and the queue may grow to <see cref="LagFactor"/> times the limit before
/// memory wins.</para>
/// </remarks>
internal sealed class OutboundQueue
{
    /// <summary>How far past its limit a session may fall behind through no fault of its client.</summary>
    public const int LagFactor = 2;

    private readonly Lock _gate = new();
    private readonly Queue<OutboundFrame> _frames = new();
    private readonly long _limit;
    private long _queuedBytes;
    private long _takenBytes;
    private long _waitingOnClientSince;
    private bool _completed;
    private TaskCompletionSource<bool>? _waiter;
    private TaskCompletionSource? _roomWaiter;

    public OutboundQueue(long limit) => _limit = limit;

    /// <summary>Bytes the session holds for its client: waiting, and taken by the transport but not released.</summary>
    public long HeldBytes
    {
        get
        {
            lock (_gate)
            {
                return _queuedBytes + _takenBytes;
            }
        }
    }

    public long Limit => _limit;

    public bool IsCompleted
    {
        get
        {
            lock (_gate)
            {
                return _completed;
            }
        }
    }

    /// <summary>When the transport started waiting for the client to take a write (a timestamp); 0 while it is not.</summary>
    public long WaitingOnClientSince => Volatile.Read(ref _waitingOnClientSince);

    public EnqueueResult TryEnqueue(in OutboundFrame frame)
    {
        TaskCompletionSource<bool>? waiter;
        lock (_gate)
        {
            if (_completed)
            {
                return EnqueueResult.Closed;
            }
            var held = _queuedBytes + _takenBytes + frame.Bytes.Length;
            if (held > _limit && (_waitingOnClientSince != 0 || held > _limit * LagFactor))
            {
                return EnqueueResult.Overflow;
            }
            _frames.Enqueue(frame);
            _queuedBytes += frame.Bytes.Length;
            waiter = _waiter;
            _waiter = null;
        }
        waiter?.TrySetResult(true);
        return EnqueueResult.Queued;
    }

    /// <summary>
    /// Queues <paramref name="last"/> as the final frame (past the byte limit) and completes the
    /// queue. With <paramref name="discardPending"/>, frames still waiting are dropped first, so a
    /// slow consumer's memory is freed at once and it learns why it was disconnected as soon as it reads.
    /// </summary>
    public bool Complete(OutboundFrame? last, bool discardPending)
    {
        TaskCompletionSource<bool>? waiter;
        TaskCompletionSource? roomWaiter;
        bool framesLeft;
        lock (_gate)
        {
            if (_completed)
            {
                return false;
            }
            if (discardPending)
            {
                _frames.Clear();
                _queuedBytes = 0;
            }
            if (last is { } frame)
            {
                _frames.Enqueue(frame);
                _queuedBytes += frame.Bytes.Length;
            }
            _completed = true;
            waiter = _waiter;
            _waiter = null;
            roomWaiter = TakeRoomWaiter();
            framesLeft = _frames.Count > 0;
        }
        waiter?.TrySetResult(framesLeft);
        roomWaiter?.TrySetResult();
        return true;
    }

    /// <summary>Waits until a frame is waiting (true) or the queue is completed and drained (false).</summary>
    /// <remarks>
    /// Without a token to watch, the waiter's own task is the answer: whoever completes it says
    /// whether frames wait (<see cref="TryEnqueue"/> true, <see cref="Complete"/> whether it left
    /// one), so the WebSocket writer, which waits once per burst of frames, allocates no async state.
    /// A true may be overtaken by a <see cref="Complete"/> that discards what waits: the reader then
    /// finds no frame, and its next wait says false.
    /// </remarks>
    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken)
    {
        Task<bool> wait;
        lock (_gate)
        {
            if (_frames.Count > 0)
            {
                return new(true);
            }
            if (_completed)
            {
                return new(false);
            }
            // Continuations run asynchronously so that the thread fanning a publication out to
            // many sessions never ends up writing to one of their sockets.
            _waiter ??= new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            wait = _waiter.Task;
        }
        return cancellationToken.CanBeCanceled ? WaitAsync(wait, cancellationToken) : new(wait);
    }

    private async ValueTask<bool> WaitAsync(Task<bool> wait, CancellationToken cancellationToken)
    {
        await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            return _frames.Count > 0;
        }
    }

    /// <summary>
    /// Waits until <paramref name="bytes"/> more fit under the limit (or the session holds nothing,
    /// or the queue is completed). Catch-up traffic the client asked for, such as a history replay,
    /// goes at the pace the client takes it instead of overflowing the queue.
    /// </summary>
    public async ValueTask WaitForRoomAsync(int bytes, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            lock (_gate)
            {
                var held = _queuedBytes + _takenBytes;
                if (_completed || held == 0 || held + bytes <= _limit)
                {
                    return;
                }
                _roomWaiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _roomWaiter.Task;
            }
            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private TaskCompletionSource? TakeRoomWaiter()
    {
        var waiter = _roomWaiter;
        _roomWaiter = null;
        return waiter;
    }

    /// <summary>
    /// Moves waiting frames into <paramref name="into"/>: at least one if any waits, then more
    /// while their total stays within <paramref name="maxBytes"/>. Returns the bytes moved: the
    /// session still holds them until the transport <see cref="Release"/>s them.
    /// </summary>
    public int DequeueBatch(List<OutboundFrame> into, int maxBytes)
    {
        var count = 0;
        var moved = 0;
        lock (_gate)
        {
            var joined = 0;
            // Counting a separator per frame bounds a JSON batch, and a MessagePack batch (which has none) too.
            while (_frames.TryPeek(out var frame) && (count == 0 || joined + frame.Bytes.Length + 1 <= maxBytes))
            {
                _frames.Dequeue();
                joined += frame.Bytes.Length + 1;
                moved += frame.Bytes.Length;
                into.Add(frame);
                count++;
            }
            _queuedBytes -= moved;
            _takenBytes += moved;
        }
        return moved;
    }

    /// <summary>The client has taken <paramref name="bytes"/> of what the transport dequeued (a write completed; frames acknowledged).</summary>
    public void Release(long bytes)
    {
        TaskCompletionSource? roomWaiter;
        lock (_gate)
        {
            _takenBytes -= bytes;
            roomWaiter = TakeRoomWaiter();
        }
        roomWaiter?.TrySetResult();
    }

    /// <summary>
    /// A write could not be handed to the platform at once: the client is not taking data as fast
    /// as it comes. Until <see cref="MarkClientCaughtUp"/>, an overflow is the client's doing.
    /// </summary>
    public void MarkWaitingOnClient(long timestamp) => Volatile.Write(ref _waitingOnClientSince, Math.Max(1, timestamp));

    public void MarkClientCaughtUp() => Volatile.Write(ref _waitingOnClientSince, 0);
}
