using Microsoft.Extensions.Logging;
using PubSub.Client.Protocol;
using PubSub.Client.Transports;

namespace PubSub.Client.Connections;

/// <summary>
/// The client's life: its state, and the one long-running task that connects, watches the
/// connection, moves up to WebSocket when an upgrade probe finds it working again, and reconnects
/// as the policy says. Frames go to the requests and subscriptions through a <see cref="FrameRouter"/>.
/// </summary>
/// <remarks>
/// One lock guards the state, the connection in use and the subscriptions. Every change of state
/// goes through <see cref="TryMoveLocked"/>, which refuses a move the state does not allow: a
/// cancelled or disposed run, still ending, can change nothing.
/// </remarks>
internal sealed partial class Supervisor
{
    private readonly Lock _gate = new();
    private readonly PubSubClient _client;
    private readonly PubSubClientOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TransportSelector _selector;
    private readonly FrameRouter _router;
    private SupervisorState _state = SupervisorState.Disconnected;
    private SupervisorRun? _run;
    private Connection? _current;

    public Supervisor(PubSubClient client, PubSubClientOptions options, HttpClient http, ILoggerFactory loggerFactory, ILogger logger)
    {
        _client = client;
        _options = options;
        _time = options.TimeProvider;
        _logger = logger;
        Requests = new RequestTracker(options);
        Subscriptions = new SubscriptionSet(_gate, () => _current, Requests, client, logger, t => Track(t));
        _router = new FrameRouter(client, Requests, Subscriptions);
        _selector = new TransportSelector(client.Uri, options, http, loggerFactory, logger, Requests);
    }

    public RequestTracker Requests { get; }

    public SubscriptionSet Subscriptions { get; }

    public TransportSelector Selector => _selector;

    /// <summary>The state the application sees, the connection in use (when connected) and its session.</summary>
    public (PubSubClientState State, Connection? Current) Snapshot
    {
        get
        {
            lock (_gate)
            {
                return (SupervisorStates.Public(_state), _current);
            }
        }
    }

    /// <summary>Every task the client starts, so that disposal can wait for them all.</summary>
    public TaskTracker Tasks { get; } = new();

    /// <summary>Starts a run, or joins the one going; see <see cref="PubSubClient.ConnectAsync"/>.</summary>
    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task connected;
            Task? stopping = null;
            PubSubStateChangedEventArgs? changed = null;
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_state == SupervisorState.Disposed, _client);
                switch (_state)
                {
                    case SupervisorState.Connected:
                        return;
                    case SupervisorState.Connecting or SupervisorState.Reconnecting:
                        connected = _run!.Connected.Task;
                        break;
                    case SupervisorState.Stopping:
                        // A cancelled connect is still ending; start over once it has.
                        connected = stopping = _run!.Loop!;
                        break;
                    default:
                        _run = new SupervisorRun();
                        TryMoveLocked(SupervisorState.Connecting, null, out changed);
                        // RunAsync yields at once, so nothing of it runs under the lock.
                        _run.Loop = Track(RunAsync(_run));
                        connected = _run.Connected.Task;
                        break;
                }
            }
            Raise(changed);
            try
            {
                await connected.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await StopConnectingAsync();
                throw;
            }
            if (stopping is null)
            {
                return;
            }
            // Whoever sees the stopped run's end first finishes its move; then the loop starts anew.
            Raise(Move(SupervisorState.Disconnected, null));
        }
    }

    /// <summary>Disposal: the run ends (closing the connection cleanly), subscriptions end, waiting requests fail, every task has ended.</summary>
    public async Task DisposeAsync()
    {
        await Task.Yield();
        SupervisorRun? run;
        PubSubStateChangedEventArgs? changed;
        PubSubSubscription[] subscriptions;
        lock (_gate)
        {
            run = _run;
            TryMoveLocked(SupervisorState.Disposed, null, out changed);
            subscriptions = Subscriptions.TakeAllLocked();
        }
        Raise(changed);
        if (run is not null)
        {
            // The loop closes the connection cleanly and returns.
            await run.Cancellation.CancelAsync();
            await run.Loop!;
            run.Cancellation.Dispose();
        }
        Requests.Complete();
        Requests.FailAll(new PubSubException(PubSubErrorCodes.Closed, "The client was disposed.", new ObjectDisposedException(nameof(PubSubClient))));
        run?.Connected.TrySetException(new ObjectDisposedException(nameof(PubSubClient)));
        foreach (var subscription in subscriptions)
        {
            subscription.End(null);
        }
        try
        {
            await Task.WhenAll(Tasks.All);
        }
        catch (Exception e)
        {
            // Every loop catches its own failures; one that did not is a bug to log, not a reason
            // for DisposeAsync to throw.
            Log.BackgroundTaskFailed(_logger, e);
        }
    }

    /// <summary>Runs <paramref name="action"/> under the lock, for what must see the state and the subscriptions together.</summary>
    public T WithState<T>(Func<PubSubClientState, Connection?, T> action)
    {
        lock (_gate)
        {
            return action(SupervisorStates.Public(_state), _current);
        }
    }

    private Task Track(Task task) => Tasks.Track(task);

    // ---- The run -----------------------------------------------------------------------------

    /// <summary>
    /// The client's one long-running task: connects, adopts the connection, watches it (moving up
    /// to WebSocket when a probe succeeds), and reconnects as the policy says, until the server
    /// says stop, the policy gives up, or the run is cancelled (disposal, or a cancelled connect).
    /// </summary>
    private async Task RunAsync(SupervisorRun run)
    {
        await Task.Yield();
        var token = run.Cancellation.Token;
        Connection connection;
        try
        {
            // The first connect is one round of negotiate and transports, and its failure is the
            // caller's: reconnecting is for connections that worked once.
            connection = await _selector.ConnectAsync(_router, t => Track(t), token);
        }
        catch (Exception e)
        {
            // A cancelled connect's state is moved by whoever cancelled it (a stop, or disposal).
            if (!token.IsCancellationRequested)
            {
                Raise(Move(SupervisorState.Disconnected, e));
            }
            run.Connected.TrySetException(token.IsCancellationRequested ? new OperationCanceledException(token) : e);
            return;
        }

        while (true)
        {
            if (!Adopt(run, connection))
            {
                await EndAsync(connection);
                return;
            }
            (connection, var ended) = await WatchAsync(connection, token);
            if (ended is not { } closed)
            {
                await EndAsync(connection);
                return;
            }
            await DetachAsync(connection);
            Log.ConnectionLost(_logger, TransportNames.Of(connection.Kind), closed.Reconnect, closed.Error.Message);

            var policy = _options.ReconnectPolicy;
            if (!closed.Reconnect || policy is null)
            {
                CloseForGood(run, closed.Error);
                return;
            }
            if (!BeginReconnecting(run, closed.Error))
            {
                return;
            }

            var lostAt = _time.GetTimestamp();
            var attempts = 0;
            var reason = closed.Error;
            while (true)
            {
                if (policy.NextDelay(new ReconnectContext(attempts, _time.GetElapsedTime(lostAt), reason)) is not { } wait)
                {
                    Log.GaveUp(_logger, attempts, reason.Message);
                    CloseForGood(run, reason);
                    return;
                }
                Log.Reconnecting(_logger, attempts + 1, wait.TotalMilliseconds);
                try
                {
                    await Task.Delay(wait, _time, token);
                    connection = await _selector.ConnectAsync(_router, t => Track(t), token);
                    break;
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    attempts++;
                    reason = e;
                    _client.ReportError(e);
                    if (e is PubSubException { IsTerminal: true })
                    {
                        CloseForGood(run, e);
                        return;
                    }
                }
            }
        }
    }

    /// <summary>
    /// Waits for the connection in use to end; meanwhile, while it is not a WebSocket, probes for
    /// one every <see cref="PubSubClientOptions.UpgradeProbeInterval"/> and moves to it.
    /// </summary>
    private async Task<(Connection Connection, ConnectionClosed? Closed)> WatchAsync(Connection connection, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                var interval = _options.UpgradeProbeInterval is { } every && _selector.CanUpgradeFrom(connection.Kind) ? every : Timeout.InfiniteTimeSpan;
                using (var watch = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    await Task.WhenAny(connection.Closed, Task.Delay(interval, _time, watch.Token));
                    await watch.CancelAsync();
                }
                cancellationToken.ThrowIfCancellationRequested();
                if (connection.Closed.IsCompleted)
                {
                    return (connection, await connection.Closed);
                }
                if (await UpgradeAsync(connection, cancellationToken) is { } upgraded)
                {
                    connection = upgraded;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The run ends; the caller closes the connection in use, whichever it is by now.
            return (connection, null);
        }
    }

    private async Task EndAsync(Connection connection)
    {
        await connection.CloseAsync(_options.CloseTimeout);
        await DetachAsync(connection);
    }

    /// <summary>Makes a connected session the one in use: subscribes every channel from its position, then starts sending.</summary>
    private bool Adopt(SupervisorRun run, Connection connection)
    {
        PubSubStateChangedEventArgs? changed;
        lock (_gate)
        {
            // A connection that ended meanwhile is adopted all the same: its end is then handled
            // like any other, with a reconnect.
            if (_state is not (SupervisorState.Connecting or SupervisorState.Reconnecting))
            {
                return false;
            }
            _current = connection;
            TryMoveLocked(SupervisorState.Connected, null, out changed);
            Subscriptions.SubscribeAllLocked(connection);
        }
        connection.Start(Requests.Shared);
        Raise(changed);
        run.Connected.TrySetResult();
        return true;
    }

    /// <summary>Takes an ended connection out of use: its requests fail (their outcome is unknown), and every subscription waits to be renewed.</summary>
    private async Task DetachAsync(Connection connection)
    {
        lock (_gate)
        {
            if (_current == connection)
            {
                _current = null;
            }
            Subscriptions.DetachLocked(connection);
        }
        await connection.DisposeAsync();
        Requests.FailOn(connection);
    }

    private bool BeginReconnecting(SupervisorRun run, Exception reason)
    {
        PubSubStateChangedEventArgs? changed;
        lock (_gate)
        {
            if (!TryMoveLocked(SupervisorState.Reconnecting, reason, out changed))
            {
                return false;
            }
            run.Connected = SupervisorRun.NewSignal();
        }
        Raise(changed);
        return true;
    }

    /// <summary>
    /// The connection ended for good (the server said not to reconnect, or the policy gave up):
    /// subscriptions end with the reason, and requests that wait fail with it.
    /// </summary>
    private void CloseForGood(SupervisorRun run, Exception reason)
    {
        PubSubStateChangedEventArgs? changed;
        PubSubSubscription[] subscriptions;
        lock (_gate)
        {
            if (!TryMoveLocked(SupervisorState.Closed, reason, out changed))
            {
                return;
            }
            subscriptions = Subscriptions.TakeAllLocked();
        }
        Log.Closed(_logger, reason.Message);
        foreach (var subscription in subscriptions)
        {
            subscription.End(reason);
        }
        Requests.FailAll(reason);
        run.Connected.TrySetException(reason);
        Raise(changed);
    }

    /// <summary>A cancelled <see cref="ConnectAsync"/>: stop the first connect, if it is still going.</summary>
    private async Task StopConnectingAsync()
    {
        SupervisorRun? run;
        PubSubStateChangedEventArgs? changed;
        lock (_gate)
        {
            run = _run;
            if (!TryMoveLocked(SupervisorState.Stopping, null, out changed))
            {
                return;
            }
        }
        Raise(changed);
        await run!.Cancellation.CancelAsync();
        await run.Loop!;
        Raise(Move(SupervisorState.Disconnected, null));
    }

    /// <summary>A move under the lock; the event to raise, if the move happened and the application sees it.</summary>
    private PubSubStateChangedEventArgs? Move(SupervisorState to, Exception? error)
    {
        lock (_gate)
        {
            TryMoveLocked(to, error, out var changed);
            return changed;
        }
    }

    /// <summary>
    /// The one place the state changes. A move the current state does not allow returns false
    /// and changes nothing; otherwise <paramref name="changed"/> is the event to raise (outside
    /// the lock), or null when the application sees no change.
    /// </summary>
    private bool TryMoveLocked(SupervisorState to, Exception? error, out PubSubStateChangedEventArgs? changed)
    {
        changed = null;
        var from = _state;
        var allowed = SupervisorStates.Allows(from, to);
        if (!allowed)
        {
            return false;
        }
        _state = to;
        if (to is SupervisorState.Disconnected or SupervisorState.Closed or SupervisorState.Disposed)
        {
            _run = null;
        }
        var (previous, now) = (SupervisorStates.Public(from), SupervisorStates.Public(to));
        if (previous != now || error is not null || now == PubSubClientState.Connected)
        {
            var connected = now == PubSubClientState.Connected ? _current : null;
            changed = new PubSubStateChangedEventArgs(previous, now, connected?.Kind, connected?.SessionId, error);
        }
        return true;
    }

    private void Raise(PubSubStateChangedEventArgs? changed)
    {
        if (changed is not null)
        {
            _client.RaiseStateChanged(changed);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(4, LogLevel.Warning, "The {Transport} connection was lost (reconnect: {Reconnect}): {Reason}")]
        public static partial void ConnectionLost(ILogger logger, string transport, bool reconnect, string reason);

        [LoggerMessage(5, LogLevel.Information, "Reconnect attempt {Attempt} in {DelayMs:0} ms")]
        public static partial void Reconnecting(ILogger logger, int attempt, double delayMs);

        [LoggerMessage(6, LogLevel.Warning, "Gave up reconnecting after {Attempts} attempts: {Reason}")]
        public static partial void GaveUp(ILogger logger, int attempts, string reason);

        [LoggerMessage(7, LogLevel.Warning, "The client closed: {Reason}")]
        public static partial void Closed(ILogger logger, string reason);

        [LoggerMessage(14, LogLevel.Error, "A background task of the client failed")]
        public static partial void BackgroundTaskFailed(ILogger logger, Exception exception);
    }
}
