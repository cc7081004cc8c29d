namespace PubSub.Sessions;

internal enum EnqueueResult
{
    Queued,
    /// <summary>The queue would exceed its byte limit; the frame was not queued.</summary>
    Overflow,
    /// <summary>The queue is completed; the frame was dropped.</summary>
    Closed,
}

/// <summary>
/// The frames waiting to be written to one session, bounded in bytes. Any thread may enqueue (the
/// fan-out, replies, the heartbeat); one transport reads at a time. Completing the queue with a
/// last frame lets the transport write it and end.
/// </summary>
internal sealed class OutboundQueue
{
    private readonly Lock _gate = new();
    private readonly Queue<OutboundFrame> _frames = new();
    private readonly long _limit;
    private long _bytes;
    private bool _completed;
    private TaskCompletionSource<bool>? _waiter;
    private TaskCompletionSource? _roomWaiter;

    public OutboundQueue(long limit) => _limit = limit;

    /// <summary>Bytes waiting, for diagnostics and tests.</summary>
    public long QueuedBytes
    {
        get
        {
            lock (_gate)
            {
                return _bytes;
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

    public EnqueueResult TryEnqueue(in OutboundFrame frame)
    {
        TaskCompletionSource<bool>? waiter;
        lock (_gate)
        {
            if (_completed)
            {
                return EnqueueResult.Closed;
            }
            // A single frame larger than the limit still passes an empty queue; otherwise a large
            // message could never be delivered at all.
            if (_bytes + frame.Json.Length > _limit && _frames.Count > 0)
            {
                return EnqueueResult.Overflow;
            }
            _frames.Enqueue(frame);
            _bytes += frame.Json.Length;
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
        lock (_gate)
        {
            if (_completed)
            {
                return false;
            }
            if (discardPending)
            {
                _frames.Clear();
                _bytes = 0;
            }
            if (last is { } frame)
            {
                _frames.Enqueue(frame);
                _bytes += frame.Json.Length;
            }
            _completed = true;
            waiter = _waiter;
            _waiter = null;
            roomWaiter = TakeRoomWaiter();
        }
        waiter?.TrySetResult(false);
        roomWaiter?.TrySetResult();
        return true;
    }

    /// <summary>Waits until a frame is waiting (true) or the queue is completed and drained (false).</summary>
    public async ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken)
    {
        Task<bool> wait;
        lock (_gate)
        {
            if (_frames.Count > 0)
            {
                return true;
            }
            if (_completed)
            {
                return false;
            }
            // Continuations run asynchronously so that the thread fanning a publication out to
            // many sessions never ends up writing to one of their sockets.
            _waiter ??= new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            wait = _waiter.Task;
        }
        await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            return _frames.Count > 0;
        }
    }

    public bool TryDequeue(out OutboundFrame frame)
    {
        TaskCompletionSource? roomWaiter;
        lock (_gate)
        {
            if (!_frames.TryDequeue(out frame))
            {
                return false;
            }
            _bytes -= frame.Json.Length;
            roomWaiter = TakeRoomWaiter();
        }
        roomWaiter?.TrySetResult();
        return true;
    }

    /// <summary>
    /// Waits until <paramref name="bytes"/> more fit under the limit (or the queue is empty or
    /// completed). Catch-up traffic the client asked for, such as a history replay, goes at the
    /// pace the client reads instead of overflowing the queue.
    /// </summary>
    public async ValueTask WaitForRoomAsync(int bytes, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            lock (_gate)
            {
                if (_completed || _frames.Count == 0 || _bytes + bytes <= _limit)
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
    /// while their total stays within <paramref name="maxBytes"/>. Returns how many were moved.
    /// </summary>
    public int DequeueBatch(List<OutboundFrame> into, int maxBytes)
    {
        TaskCompletionSource? roomWaiter;
        var count = 0;
        lock (_gate)
        {
            var total = 0;
            while (_frames.TryPeek(out var frame) && (count == 0 || total + frame.Json.Length + 1 <= maxBytes))
            {
                _frames.Dequeue();
                _bytes -= frame.Json.Length;
                total += frame.Json.Length + 1;
                into.Add(frame);
                count++;
            }
            roomWaiter = count > 0 ? TakeRoomWaiter() : null;
        }
        roomWaiter?.TrySetResult();
        return count;
    }
}
