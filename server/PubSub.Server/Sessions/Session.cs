using System.Security.Claims;
using PubSub.Channels;
using PubSub.Protocol;

namespace PubSub.Sessions;

/// <summary>
/// One logical client connection, owned by this node: its identity, its subscriptions and its
/// outbound queue. Transports move frames in and out; the session does not know which transport
/// it is on beyond its name. Every server-to-client frame goes through <see cref="Send(in OutboundFrame)"/>.
/// </summary>
// Neither the token source (no timer) nor the semaphore (no wait handle) holds anything that
// needs disposing, and both outlive the session's close for whoever still holds the session.
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "See above.")]
internal sealed class Session
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Subscription> _subscriptions = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _closed = new();
    private readonly SemaphoreSlim _inbound = new(1, 1);

    /// <summary>
    /// How many of a session's publishes may wait for the broker at once. Publishes are issued in
    /// frame order without waiting for each answer, so a broker with a round trip (Redis) pipelines
    /// them; the window keeps one client from queueing without bound.
    /// </summary>
    public const int PublishWindow = 64;

    private SemaphoreSlim? _publishes;
    private readonly Action<Session> _onClosed;
    private DisconnectReason? _closeReason;

    public Session(string id, string transport, FrameEncoding encoding, ClaimsPrincipal user, string? userKey, long outboundLimit, long now, Action<Session> onClosed)
    {
        Id = id;
        Transport = transport;
        Encoding = encoding;
        User = user;
        UserKey = userKey;
        Outbound = new OutboundQueue(outboundLimit);
        Heartbeat = new SessionHeartbeat(now);
        _onClosed = onClosed;
    }

    public string Id { get; }

    /// <summary>The transport's protocol name: <c>websocket</c>, <c>sse</c> or <c>long-polling</c>.</summary>
    public string Transport { get; }

    /// <summary>How every frame to and from the client is written (chosen when the session opened; docs/protocol.md, section 6.3).</summary>
    public FrameEncoding Encoding { get; }

    public ClaimsPrincipal User { get; }

    /// <summary>
    /// The identity the session is bound to (<see cref="UserKey.Of"/>; empty for anonymous);
    /// requests from another are refused. Null for a WebSocket session of a user who has no key: it
    /// is bound to no request, as nothing else can reach it anyway.
    /// </summary>
    public string? UserKey { get; }

    public OutboundQueue Outbound { get; }

    /// <summary>What the application's connect hook attached to the session, if anything.</summary>
    public Payload? ConnectionInfo { get; init; }

    /// <summary>Cancelled when the session closes, for whatever reason.</summary>
    public CancellationToken Closed => _closed.Token;

    public bool IsClosed => _closed.IsCancellationRequested;

    /// <summary>Why the session closed; null while it is open, or when the client went away first.</summary>
    public DisconnectReason? CloseReason
    {
        get
        {
            lock (_gate)
            {
                return _closeReason;
            }
        }
    }

    /// <summary>Frames from one session are handled one batch at a time, whichever request carried them.</summary>
    public SemaphoreSlim InboundLock => _inbound;

    /// <summary>
    /// Slots for publishes in flight; see <see cref="PublishWindow"/>. Made on the first publish:
    /// most sessions only subscribe, and an idle connection should cost as little as it can.
    /// </summary>
    public SemaphoreSlim PublishSlots => LazyInitializer.EnsureInitialized(ref _publishes, static () => new(PublishWindow, PublishWindow));

    public void Send(byte[] frame) => Send(new OutboundFrame(frame));

    public void Send(in OutboundFrame frame)
    {
        if (Outbound.TryEnqueue(frame) == EnqueueResult.Overflow)
        {
            Close(DisconnectReason.SlowConsumer);
        }
    }

    /// <summary>
    /// Ends the session: the client gets a <c>disconnect</c> frame as its last frame (a slow
    /// consumer's waiting frames are dropped first), and the subscriptions are released.
    /// Safe from any thread, including the fan-out; the release runs elsewhere.
    /// </summary>
    public void Close(DisconnectReason reason) => CloseCore(reason, null);

    /// <summary>
    /// Ends the session with <paramref name="lastFrame"/> as its last frame instead of the
    /// encoding's <c>disconnect</c> (a STOMP ERROR that names the frame it answers, a RECEIPT for
    /// DISCONNECT); <paramref name="reason"/> is still the close code.
    /// </summary>
    public void Close(DisconnectReason reason, byte[] lastFrame) => CloseCore(reason, lastFrame);

    /// <summary>Ends the session because the client went away: there is nobody to tell.</summary>
    public void Abandon() => CloseCore(null, null);

    /// <summary>
    /// An error that belongs to no request. In an encoding whose errors end the session (STOMP)
    /// the error is the last frame; otherwise the session goes on.
    /// </summary>
    public void SendError(string code, string message)
    {
        var frame = Encoding.Error(code, message);
        if (Encoding.ErrorEndsSession)
        {
            Close(DisconnectReason.ProtocolViolation, frame);
        }
        else
        {
            Send(frame);
        }
    }

    /// <summary>
    /// Tells the client the server ended (or refused) its subscription to <paramref name="channel"/>
    /// for good. STOMP can say so only with an ERROR, which ends the session (with 4003: the client
    /// may reconnect and subscribe again).
    /// </summary>
    public void SendUnsubscribed(string channel, string code, string reason)
    {
        var frame = Encoding.Unsubscribed(channel, code, reason);
        if (Encoding.ErrorEndsSession)
        {
            Close(DisconnectReason.SessionClosed, frame);
        }
        else
        {
            Send(OutboundFrame.Removing(frame, channel));
        }
    }

    private void CloseCore(DisconnectReason? reason, byte[]? lastFrame)
    {
        lock (_gate)
        {
            if (_closed.IsCancellationRequested)
            {
                return;
            }
            _closeReason = reason;
        }

        var last = reason is null ? (OutboundFrame?)null : new OutboundFrame(lastFrame ?? Encoding.Disconnect(reason));
        Outbound.Complete(last, discardPending: reason == DisconnectReason.SlowConsumer);
        _closed.Cancel();
        _onClosed(this);
    }

    /// <summary>When the client last sent something, and the ping it owes an answer to (WebSocket).</summary>
    public SessionHeartbeat Heartbeat { get; }

    public int SubscriptionCount
    {
        get
        {
            lock (_gate)
            {
                return _subscriptions.Count;
            }
        }
    }

    public bool IsSubscribed(string channel)
    {
        lock (_gate)
        {
            return _subscriptions.ContainsKey(channel);
        }
    }

    /// <summary>Reserves the channel for a subscription that is being set up, enforcing the per-session limit.</summary>
    public bool TryAdd(Subscription subscription, int limit, out ProtocolError error)
    {
        lock (_gate)
        {
            if (_closed.IsCancellationRequested)
            {
                error = new(PubSubErrorCodes.SessionNotFound, "The session is closed.");
                return false;
            }
            if (_subscriptions.ContainsKey(subscription.Channel))
            {
                error = new(PubSubErrorCodes.AlreadySubscribed, $"Already subscribed to '{subscription.Channel}'.");
                return false;
            }
            if (_subscriptions.Count >= limit)
            {
                error = new(PubSubErrorCodes.TooManySubscriptions, $"A session may hold at most {limit} subscriptions.");
                return false;
            }
            _subscriptions.Add(subscription.Channel, subscription);
            error = default;
            return true;
        }
    }

    public Subscription? Remove(string channel)
    {
        lock (_gate)
        {
            return _subscriptions.Remove(channel, out var subscription) ? subscription : null;
        }
    }

    /// <summary>Removes the subscription only if it is still the one registered for its channel.</summary>
    public bool Remove(Subscription subscription)
    {
        lock (_gate)
        {
            if (_subscriptions.TryGetValue(subscription.Channel, out var current) && current == subscription)
            {
                _subscriptions.Remove(subscription.Channel);
                return true;
            }
            return false;
        }
    }

    /// <summary>Takes every subscription out of the session, for release when it closes.</summary>
    public Subscription[] RemoveAll()
    {
        lock (_gate)
        {
            var all = _subscriptions.Values.ToArray();
            _subscriptions.Clear();
            return all;
        }
    }
}
