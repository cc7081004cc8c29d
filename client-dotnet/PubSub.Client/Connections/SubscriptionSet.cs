using System.Text.Json;
using Microsoft.Extensions.Logging;
using PubSub.Client.Protocol;

namespace PubSub.Client.Connections;

/// <summary>
/// The client's subscriptions, by channel: subscribing (again, with <c>since</c> = the last
/// delivered position, on every new connection), what a refusal does (its code's rule), the
/// frames that move a subscription on, the subscriptions the server makes for the client (and
/// their catch-up from history after a reconnect), unsubscribing, and the subscribes of an
/// upgrade probe.
/// </summary>
/// <remarks>
/// It shares the supervisor's lock: whether a subscribe goes out, and on which connection,
/// depends on the client's state, so both change together. Methods named <c>...Locked</c> are
/// called with the lock held.
/// </remarks>
internal sealed partial class SubscriptionSet
{
    private readonly Dictionary<string, PubSubSubscription> _subscriptions = new(StringComparer.Ordinal);
    private readonly Lock _gate;
    private readonly Func<Connection?> _currentLocked;
    private readonly RequestTracker _requests;
    private readonly PubSubClient _client;
    private readonly ILogger _logger;
    private readonly Action<Task> _track;

    public SubscriptionSet(Lock gate, Func<Connection?> currentLocked, RequestTracker requests, PubSubClient client, ILogger logger, Action<Task> track)
    {
        _gate = gate;
        _currentLocked = currentLocked;
        _requests = requests;
        _client = client;
        _logger = logger;
        _track = track;
    }

    /// <summary>A new subscription, subscribed at once when a connection is in use (else at the next one).</summary>
    public PubSubSubscription AddLocked(string channel, StreamPosition? since)
    {
        if (_subscriptions.ContainsKey(channel))
        {
            throw new PubSubException(PubSubErrorCodes.AlreadySubscribed,
                $"This client is subscribed to '{channel}' already; read that subscription, or dispose it first.");
        }
        var subscription = new PubSubSubscription(_client, channel, since);
        _subscriptions.Add(channel, subscription);
        if (_currentLocked() is { } connection)
        {
            SendSubscribeLocked(connection, subscription);
        }
        return subscription;
    }

    /// <summary>
    /// A new connection is in use: every subscription is subscribed on it from its position,
    /// before anything else is sent; but those the server subscribed on it already (a
    /// <c>subscribed</c> frame that came before the connection was adopted).
    /// </summary>
    public void SubscribeAllLocked(Connection connection)
    {
        foreach (var subscription in _subscriptions.Values)
        {
            if (subscription.ActiveOn != connection)
            {
                SendSubscribeLocked(connection, subscription);
            }
        }
    }

    /// <summary>The subscriptions now (the application's and the server's), for <see cref="PubSubClient.Subscriptions"/>.</summary>
    public IReadOnlyList<PubSubSubscription> Snapshot()
    {
        lock (_gate)
        {
            return [.. _subscriptions.Values];
        }
    }

    public PubSubSubscription? Find(string channel)
    {
        lock (_gate)
        {
            return _subscriptions.GetValueOrDefault(channel);
        }
    }

    /// <summary>The connection ended: every subscription on it waits to be renewed on the next.</summary>
    public void DetachLocked(Connection connection)
    {
        foreach (var subscription in _subscriptions.Values)
        {
            subscription.LeaveLocked(connection);
        }
    }

    /// <summary>Takes every subscription out (the client closed); the caller ends them outside the lock.</summary>
    public PubSubSubscription[] TakeAllLocked()
    {
        PubSubSubscription[] all = [.. _subscriptions.Values];
        _subscriptions.Clear();
        return all;
    }

    public async ValueTask UnsubscribeAsync(PubSubSubscription subscription, CancellationToken cancellationToken)
    {
        OutboundRequest? request = null;
        lock (_gate)
        {
            if (!RemoveLocked(subscription))
            {
                return;
            }
            if (_currentLocked() is { } connection)
            {
                request = _requests.Control("unsubscribe", (codec, id) => codec.Unsubscribe(id, subscription.Channel), connection);
            }
        }
        subscription.End(null);
        if (request is null)
        {
            return;
        }
        try
        {
            var reply = await _requests.ReplyAsync(request, cancellationToken);
            // not_subscribed: the subscribe it follows failed, or the server had ended it. Over either way.
            if (reply.IsErrorReply && reply.ErrorCode != PubSubErrorCodes.NotSubscribed)
            {
                throw new PubSubException(reply.ErrorCode!, reply.ErrorMessage!);
            }
        }
        catch (PubSubException e) when (e.Code is PubSubErrorCodes.ConnectionLost or PubSubErrorCodes.Closed)
        {
            // A session that is gone holds no subscriptions.
        }
        catch (TimeoutException e)
        {
            throw new PubSubException(PubSubErrorCodes.Timeout,
                $"The server did not confirm the unsubscribe from '{subscription.Channel}' within {_requests.Timeout.TotalSeconds:0.###} s.", e);
        }
    }

    /// <summary>Drops a subscription whose subscribe the caller stopped waiting for; the server is told, without waiting for its answer.</summary>
    public void Forget(PubSubSubscription subscription)
    {
        lock (_gate)
        {
            if (!RemoveLocked(subscription))
            {
                return;
            }
            if (_currentLocked() is { } connection)
            {
                // Sent after the subscribe on the same queue, so the server ends what it may still start.
                _requests.Control("unsubscribe", (codec, id) => codec.Unsubscribe(id, subscription.Channel), connection, track: false);
            }
        }
        subscription.End(null);
    }

    // ---- Frames ------------------------------------------------------------------------------

    public void OnMessage(Connection connection, ServerFrame frame)
    {
        // A message before the subscribe's reply belongs to an earlier subscription of this session.
        if (Find(frame.Channel!) is { } subscription && subscription.Receives(connection))
        {
            subscription.OnMessage(frame);
        }
    }

    /// <summary>
    /// A <c>subscribed</c> frame. On a live subscription with <c>recovered: false</c>, the server
    /// lost publications of it and says where the stream goes on. Otherwise the server subscribed
    /// this session itself (its connect hook, or the server API): a channel the client does not
    /// hold becomes a server-side subscription (<see cref="PubSubClient.ServerSubscribed"/>); one
    /// it holds, from a connection before, catches up from history (<see cref="CatchUpAsync"/>).
    /// A probe's are left alone: the subscriptions it takes over are moved to it one by one.
    /// </summary>
    public void OnSubscribed(Connection connection, ServerFrame frame)
    {
        var channel = frame.Channel!;
        PubSubSubscription? created = null;
        PubSubSubscription? known;
        lock (_gate)
        {
            if (connection.IsProbe || connection.IsEnded)
            {
                return;
            }
            known = _subscriptions.GetValueOrDefault(channel);
            if (known is null)
            {
                created = new PubSubSubscription(_client, channel, since: null, serverSide: true);
                _subscriptions.Add(channel, created);
                // Its messages follow this frame on the receive loop: it must receive them at once.
                created.OnServerSubscribed(connection, frame.Position);
            }
        }
        if (created is not null)
        {
            Log.ServerSubscribed(_logger, channel, frame.Position.ToString());
            _client.RaiseServerSubscribed(created);
            return;
        }
        if (known!.ActiveOn == connection)
        {
            if (frame.Recovered == false)
            {
                Log.LiveGap(_logger, channel, frame.Position.ToString());
                known.OnLiveGap(frame.Position);
            }
            return;
        }
        if (known.OnServerSubscribed(connection, frame.Position) is { } since)
        {
            _track(CatchUpAsync(known, connection, since, frame.Position));
        }
    }

    /// <summary>A <c>join</c> or <c>leave</c>: raised on the subscription, from the connection it is live on only (a probe would repeat it).</summary>
    public void OnPresenceEvent(Connection connection, ServerFrame frame)
    {
        if (Find(frame.Channel!) is { } subscription && subscription.ActiveOn == connection)
        {
            subscription.OnPresenceEvent(frame);
        }
    }

    /// <summary>The server ended a subscription: its event, then the stream ends with the server's code and reason.</summary>
    public void OnUnsubscribed(Connection connection, ServerFrame frame)
    {
        PubSubSubscription? subscription;
        lock (_gate)
        {
            subscription = _subscriptions.GetValueOrDefault(frame.Channel!);
            if (subscription is null || subscription.ActiveOn != connection || !RemoveLocked(subscription))
            {
                return;
            }
        }
        subscription.EndByServer(frame.ErrorCode!, frame.ErrorMessage ?? "");
    }

    /// <summary>
    /// A server-side subscription, subscribed again by the server at the channel's latest
    /// position after a reconnect, reads what it missed from history: pages from its last
    /// position while they are full, delivered in order (its live messages wait meanwhile, and
    /// follow without repeats). History that no longer covers the gap, or an error, is reported
    /// as missed (<see cref="PubSubSubscription.Missed"/>). A connection that ends first leaves
    /// the position where the pages got to, and the next connection starts from there.
    /// </summary>
    private async Task CatchUpAsync(PubSubSubscription subscription, Connection connection, StreamPosition since, StreamPosition latest)
    {
        var position = since;
        var complete = true;
        try
        {
            while (position.Offset < latest.Offset)
            {
                var from = position;
                var request = _requests.Control("history", (codec, id) => codec.History(id, subscription.Channel, from, CatchUpPageSize), connection);
                var reply = await _requests.ReplyAsync(request, CancellationToken.None);
                if (reply.IsErrorReply)
                {
                    // epoch_mismatch (history restarted), forbidden (the template's rules keep the
                    // client from reading what the server subscribed it to), ...
                    Log.CatchUpFailed(_logger, subscription.Channel, reply.ErrorCode!, reply.ErrorMessage!);
                    complete = false;
                    break;
                }
                var page = Replies.ReadHistory(subscription.Channel, reply, _client.SerializerOptions);
                if (page.Latest.Epoch != since.Epoch)
                {
                    complete = false;
                    break;
                }
                subscription.OnHistoryPage(connection, page.Publications);
                if (page.Publications.Count > 0)
                {
                    position = page.Publications[^1].Position;
                }
                if (page.Publications.Count < CatchUpPageSize)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is PubSubException or TimeoutException)
        {
            subscription.AbandonCatchUp(connection);
            if (e is TimeoutException)
            {
                // Live messages pile up behind a read that does not come: start over on a new session.
                connection.Fail(new PubSubException(PubSubErrorCodes.Timeout, $"The history read that catches '{subscription.Channel}' up was not answered in time.", e), reconnect: true);
            }
            return;
        }
        subscription.EndCatchUp(connection, since, latest, complete);
    }

    /// <summary>How many publications one catch-up read asks for: the protocol's default page.</summary>
    private const int CatchUpPageSize = 100;

    // ---- The upgrade probe -------------------------------------------------------------------

    /// <summary>The subscriptions to move, when every one is established on <paramref name="connection"/> (else null: try later).</summary>
    public PubSubSubscription[]? EstablishedOnLocked(Connection connection) =>
        _subscriptions.Values.All(s => s.IsSteadyOn(connection)) ? [.. _subscriptions.Values] : null;

    /// <summary>
    /// Subscribes <paramref name="subscription"/> on the probe from its position; once the probe
    /// replays from there the subscription takes its messages too (and drops what it has seen).
    /// <paramref name="done"/> says whether the probe may take over the channel.
    /// </summary>
    public void SubscribeOnProbeLocked(Connection probe, PubSubSubscription subscription, Action<bool> done, bool again = false)
    {
        var since = subscription.Position;
        _requests.Control("subscribe", (codec, id) => codec.Subscribe(id, subscription.Channel, since), probe, (reply, on) =>
        {
            if (reply.ErrorCode == PubSubErrorCodes.AlreadySubscribed && !again)
            {
                // The server's connect hook subscribed the probe's session to this channel, at its
                // latest position: subscribe again from ours, so the probe replays what lies between.
                lock (_gate)
                {
                    _requests.Control("unsubscribe", (codec, id) => codec.Unsubscribe(id, subscription.Channel), on, track: false);
                    SubscribeOnProbeLocked(on, subscription, done, again: true);
                }
                return;
            }
            var recovered = !reply.IsErrorReply && reply.Result.TryGetProperty("recovered"u8, out var flag) && flag.ValueKind == JsonValueKind.True;
            lock (_gate)
            {
                // Anything but a full recovery (or a change meanwhile) abandons the move, which is
                // always safe: the connection in use never stopped.
                recovered = recovered && _subscriptions.GetValueOrDefault(subscription.Channel) == subscription;
                if (recovered)
                {
                    subscription.ProbeOn = on;
                }
            }
            done(recovered);
        });
    }

    /// <summary>Moves every subscription from the probe's extra feed to its only one; false (nothing moved) when the set changed meanwhile.</summary>
    public bool MoveToLocked(Connection probe, IReadOnlyCollection<PubSubSubscription> moved)
    {
        if (moved.Count != _subscriptions.Count || moved.Any(s => _subscriptions.GetValueOrDefault(s.Channel) != s || s.ProbeOn != probe))
        {
            return false;
        }
        foreach (var subscription in moved)
        {
            subscription.ActiveOn = probe;
            subscription.ProbeOn = null;
        }
        probe.IsProbe = false;
        return true;
    }

    /// <summary>The probe was abandoned: its feeds stop.</summary>
    public void LeaveProbeLocked(Connection probe)
    {
        foreach (var subscription in _subscriptions.Values)
        {
            subscription.LeaveLocked(probe);
        }
    }

    // ---- Subscribing -------------------------------------------------------------------------

    private bool RemoveLocked(PubSubSubscription subscription) =>
        _subscriptions.GetValueOrDefault(subscription.Channel) == subscription && _subscriptions.Remove(subscription.Channel);

    /// <summary>Queues a subscribe for <paramref name="subscription"/> on <paramref name="connection"/>, from its position when it has one.</summary>
    private void SendSubscribeLocked(Connection connection, PubSubSubscription subscription)
    {
        var since = subscription.RecoveryPosition;
        _requests.Control("subscribe", (codec, id) => codec.Subscribe(id, subscription.Channel, since), connection,
            (reply, on) => OnSubscribeReply(subscription, since, reply, on));
    }

    /// <summary>Runs on the receive loop before the frames after the reply: the messages that follow a subscribe need its outcome.</summary>
    private void OnSubscribeReply(PubSubSubscription subscription, StreamPosition? since, ServerFrame reply, Connection connection)
    {
        var rule = RetryRule.Never;
        lock (_gate)
        {
            if (_subscriptions.GetValueOrDefault(subscription.Channel) != subscription || _currentLocked() != connection)
            {
                return;
            }
            if (reply.ErrorCode == PubSubErrorCodes.AlreadySubscribed && subscription.ActiveOn == connection)
            {
                // This client sends one subscribe per channel and connection: the server had
                // subscribed the session itself (its connect hook, its API), and its 'subscribed'
                // frame, queued before this reply, established the subscription already.
                return;
            }
            if (reply.IsErrorReply)
            {
                // The code decides (protocol/error-codes.json): a refusal that passes by itself (the
                // broker is down, a fault) leaves the subscription wanted, and it is asked for again
                // after a backoff, as client-js does; a session that is gone is a reconnect's to
                // fix, which subscribes everything again; any other refusal ends it.
                rule = ErrorRules.RetryOf(reply.ErrorCode!);
                if (rule == RetryRule.Never)
                {
                    RemoveLocked(subscription);
                }
            }
        }
        if (reply.IsErrorReply)
        {
            var error = new PubSubException(reply.ErrorCode!, reply.ErrorMessage!);
            switch (rule)
            {
                case RetryRule.Later:
                    var delay = subscription.NextRetryDelay(error);
                    Log.ResubscribeDeferred(_logger, subscription.Channel, reply.ErrorCode!, delay.TotalSeconds);
                    _track(ResubscribeLaterAsync(subscription, connection, delay));
                    break;
                case RetryRule.Reconnect:
                    connection.Fail(error, reconnect: true);
                    break;
                default:
                    Log.SubscriptionRefused(_logger, subscription.Channel, error.Message);
                    subscription.End(error);
                    break;
            }
            return;
        }
        if (!Replies.TryReadPosition(reply.Result, out var latest))
        {
            var error = new PubSubException(PubSubErrorCodes.BadFrame, $"The subscribe reply for '{subscription.Channel}' lacks its position: {reply.Result.GetRawText()}");
            _client.ReportError(error);
            connection.Fail(error, reconnect: true);
            return;
        }
        var recovered = reply.Result.TryGetProperty("recovered"u8, out var flag) && flag.ValueKind == JsonValueKind.True;
        if (since is not null && !recovered)
        {
            Log.NotRecovered(_logger, subscription.Channel, since.Value.ToString(), latest.ToString());
        }
        subscription.OnSubscribed(connection, latest, since, recovered);
    }

    /// <summary>Subscribes again on the same connection after <paramref name="delay"/>; a new connection subscribes everything anyway.</summary>
    private async Task ResubscribeLaterAsync(PubSubSubscription subscription, Connection connection, TimeSpan delay)
    {
        if (await Task.WhenAny(Task.Delay(delay, _requests.Time), connection.Closed) != connection.Closed)
        {
            lock (_gate)
            {
                if (_subscriptions.GetValueOrDefault(subscription.Channel) == subscription && _currentLocked() == connection && !connection.IsEnded)
                {
                    SendSubscribeLocked(connection, subscription);
                }
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(9, LogLevel.Warning, "The server refused the subscription to '{Channel}': {Reason}")]
        public static partial void SubscriptionRefused(ILogger logger, string channel, string reason);

        [LoggerMessage(10, LogLevel.Warning, "'{Channel}' could not be recovered from {Since}; it continues from {Position} and publications in between are lost to it")]
        public static partial void NotRecovered(ILogger logger, string channel, string since, string position);

        [LoggerMessage(13, LogLevel.Warning, "The server lost publications of '{Channel}'; it continues after {Position}")]
        public static partial void LiveGap(ILogger logger, string channel, string position);

        [LoggerMessage(34, LogLevel.Information, "The server subscribed this client to '{Channel}' at {Position}")]
        public static partial void ServerSubscribed(ILogger logger, string channel, string position);

        [LoggerMessage(35, LogLevel.Warning, "Reading what '{Channel}' missed from history failed ({Code}): {Reason}")]
        public static partial void CatchUpFailed(ILogger logger, string channel, string code, string reason);

        [LoggerMessage(30, LogLevel.Information, "Subscribing to '{Channel}' again failed for now ({Code}); asking again in {Seconds:0.#} s.")]
        public static partial void ResubscribeDeferred(ILogger logger, string channel, string code, double seconds);
    }
}
