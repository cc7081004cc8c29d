namespace PubSub.Transports;

/// <summary>
/// The node's write-coalescing tick (<see cref="PubSubOptions.WriteDelay"/>): a WebSocket writer
/// whose queue had been empty waits for the next tick before it writes, so what reaches it in
/// between travels as one message. All sessions share one timer and one task per tick, so the
/// window costs the node one timer per <see cref="PubSubOptions.WriteDelay"/>, not one per write.
/// </summary>
internal sealed class WriteWindow
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private TaskCompletionSource? _next;
    private ITimer? _timer;

    public WriteWindow(TimeSpan delay, TimeProvider time)
    {
        Delay = delay;
        _time = time;
    }

    public TimeSpan Delay { get; }

    /// <summary>Completes at the next tick, at most <see cref="Delay"/> from now.</summary>
    public Task NextTickAsync()
    {
        lock (_gate)
        {
            if (_next is null)
            {
                // Continuations run asynchronously: the timer's thread only opens the gate, and each
                // session's writer goes on on the thread pool.
                _next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _timer = _time.CreateTimer(static state => ((WriteWindow)state!).Tick(), this, Delay, Timeout.InfiniteTimeSpan);
            }
            return _next.Task;
        }
    }

    private void Tick()
    {
        TaskCompletionSource? next;
        ITimer? timer;
        lock (_gate)
        {
            next = _next;
            timer = _timer;
            _next = null;
            _timer = null;
        }
        timer?.Dispose();
        next?.TrySetResult();
    }
}
