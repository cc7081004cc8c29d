using Microsoft.Extensions.Logging;
using PubSub.Client.Transports;

namespace PubSub.Client.Connections;

/// <summary>The upgrade probe: moving from SSE or long-polling back to WebSocket, as client-js does.</summary>
internal sealed partial class Supervisor
{
    /// <summary>
    /// Opens a WebSocket session beside <paramref name="current"/> and moves to it without losing
    /// or repeating a publication: each channel is subscribed on the new session with
    /// <c>since</c> = its position, so the new session replays from there while the old one keeps
    /// delivering; both feed the same subscriptions, which drop what they delivered already
    /// (positions are per channel and the same on both sessions). Once every channel is recovered
    /// on the new session, it takes over the shared queue, and the old one closes when the replies
    /// it owes are in. Anything unusual (a refused or unrecovered channel, a change to the
    /// subscriptions meanwhile, the old connection ending) abandons the attempt, which is always
    /// safe: the old session never stopped. Returns the new connection, or null.
    /// </summary>
    private async Task<Connection?> UpgradeAsync(Connection current, CancellationToken cancellationToken)
    {
        PubSubSubscription[]? moving;
        lock (_gate)
        {
            // A subscribe still on its way: the next probe moves it.
            moving = _state == SupervisorState.Connected && _current == current ? Subscriptions.EstablishedOnLocked(current) : null;
        }
        if (moving is null || await _selector.ProbeAsync(_router, t => Track(t), cancellationToken) is not { } probe)
        {
            return null;
        }
        probe.Start(null);
        var recovered = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var left = moving.Length;
        lock (_gate)
        {
            foreach (var subscription in moving)
            {
                Subscriptions.SubscribeOnProbeLocked(probe, subscription, ok =>
                {
                    if (!ok || Interlocked.Decrement(ref left) == 0)
                    {
                        recovered.TrySetResult(ok);
                    }
                });
            }
        }
        if (moving.Length == 0)
        {
            recovered.TrySetResult(true);
        }

        Task? released = null;
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(Requests.Timeout);
            var ended = Task.WhenAny(current.Closed, probe.Closed);
            await Task.WhenAny(recovered.Task, ended).WaitAsync(deadline.Token);
            if (recovered.Task.IsCompletedSuccessfully && recovered.Task.Result && !ended.IsCompleted)
            {
                released = Swap(current, probe, moving);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Log.UpgradeAbandoned(_logger, "the subscribes on the new session were not all answered in time");
        }
        finally
        {
            if (released is null)
            {
                lock (_gate)
                {
                    Subscriptions.LeaveProbeLocked(probe);
                }
                await probe.CloseAsync(_options.CloseTimeout);
                await probe.DisposeAsync();
                Requests.FailOn(probe);
            }
        }
        if (released is null)
        {
            return null;
        }
        _ = Track(RetireAsync(current, released));
        return probe;
    }

    /// <summary>
    /// The probe takes over: the connection in use, every subscription, the shared queue. Returns a
    /// task that completes when the old connection has let go of the shared queue, or null when nothing moved.
    /// </summary>
    private Task? Swap(Connection current, Connection probe, PubSubSubscription[] moving)
    {
        PubSubStateChangedEventArgs? changed;
        lock (_gate)
        {
            if (_state != SupervisorState.Connected || _current != current || current.IsEnded || probe.IsEnded
                || !Subscriptions.MoveToLocked(probe, moving))
            {
                Log.UpgradeAbandoned(_logger, "the subscriptions or the connection changed meanwhile");
                return null;
            }
            _current = probe;
            TryMoveLocked(SupervisorState.Connected, null, out changed);
        }
        var released = current.UseShared(null);
        probe.UseShared(Requests.Shared);
        _selector.Upgraded();
        Log.Upgraded(_logger, TransportNames.Of(current.Kind), probe.SessionId!);
        Raise(changed);
        return released;
    }

    /// <summary>The replaced connection closes once the replies it owes are in, or the request timeout passed.</summary>
    private async Task RetireAsync(Connection old, Task released)
    {
        try
        {
            // Only once its send loop let go of the shared queue is the set of what it owes complete.
            await released;
            await Requests.AnsweredOn(old).WaitAsync(Requests.Timeout, _time);
        }
        catch (TimeoutException)
        {
            // Those requests fail with connection_lost below: their outcome is unknown.
        }
        await EndAsync(old);
    }

    private static partial class Log
    {
        [LoggerMessage(32, LogLevel.Information, "Moved from {Transport} to WebSocket: session {SessionId}")]
        public static partial void Upgraded(ILogger logger, string transport, string sessionId);

        [LoggerMessage(33, LogLevel.Debug, "The upgrade to WebSocket was abandoned: {Reason}")]
        public static partial void UpgradeAbandoned(ILogger logger, string reason);
    }
}
