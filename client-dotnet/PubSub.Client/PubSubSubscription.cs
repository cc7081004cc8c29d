using System.Runtime.CompilerServices;
using System.Threading.Channels;
using PubSub.Client.Connections;
using PubSub.Client.Protocol;

namespace PubSub.Client;

/// <summary>
/// A subscription to one channel. It lives across reconnects and transport changes: after each
/// reconnect the client subscribes again from <see cref="Position"/>, and the stream delivers every
/// publication once, in offset order (<see cref="Resubscribed"/> says when the server could not
/// recover a gap). The stream ends when the subscription does: normally after
/// <see cref="UnsubscribeAsync"/> or disposal, with a <see cref="PubSubException"/> when the
/// server ended it or the client closed for good. <see cref="Missed"/> reports publications lost to it.
/// A subscription the server made for the client (its connect hook, or the server API) is one too
/// (<see cref="IsServerSide"/>, announced by <see cref="PubSubClient.ServerSubscribed"/>).
/// </summary>
public sealed class PubSubSubscription : IAsyncDisposable
{
    private readonly PubSubClient _client;
    private readonly Channel<PubSubMessage> _messages = System.Threading.Channels.Channel.CreateUnbounded<PubSubMessage>(new UnboundedChannelOptions { SingleWriter = true });
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private StreamPosition? _position;
    private bool? _recovered;
    private bool _everSubscribed;
    private PubSubSubscriptionState _state = PubSubSubscriptionState.Subscribing;
    private Connection? _activeOn;
    private Connection? _probeOn;

    /// <summary>
    /// While a server-made subscription catches up from history after a reconnect: the live
    /// messages that came meanwhile, delivered after the history (null when not catching up).
    /// </summary>
    private List<ServerFrame>? _heldWhileCatchingUp;

    /// <summary>The connection whose catch-up holds them: one that ended may finish late, after the next began its own.</summary>
    private Connection? _catchingUpOn;

    internal PubSubSubscription(PubSubClient client, string channel, StreamPosition? since, bool serverSide = false)
    {
        _client = client;
        Channel = channel;
        _position = since;
        IsServerSide = serverSide;
        // Nobody may await it (a resubscribe failing after SubscribeAsync returned); observe it.
        _ready.Task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>The channel.</summary>
    public string Channel { get; }

    /// <summary>
    /// The position of the last publication delivered to the stream, or where the subscription
    /// started; save it to resume later with <see cref="PubSubSubscriptionOptions.Since"/>.
    /// </summary>
    public StreamPosition? Position
    {
        get
        {
            lock (_gate)
            {
                return _position;
            }
        }
    }

    /// <summary>
    /// Whether the last subscribe that asked to recover from a position got everything after it:
    /// null when none asked (a first subscription without <see cref="PubSubSubscriptionOptions.Since"/>).
    /// </summary>
    public bool? Recovered
    {
        get
        {
            lock (_gate)
            {
                return _recovered;
            }
        }
    }

    /// <summary>
    /// Whether the server made this subscription (its connect hook, or the server API's subscribe)
    /// rather than <see cref="PubSubClient.SubscribeAsync(string, CancellationToken)"/>. After a
    /// reconnect the server subscribes it again; the client fills the gap from history.
    /// </summary>
    public bool IsServerSide { get; private set; }

    /// <summary>Where the subscription is in its life; <see cref="PubSubSubscriptionState.EndedByServer"/> after an <see cref="Unsubscribed"/>.</summary>
    public PubSubSubscriptionState State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    /// <summary>The messages, in order, for code that prefers a <see cref="ChannelReader{T}"/>.</summary>
    public ChannelReader<PubSubMessage> Reader => _messages.Reader;

    /// <summary>Completes when the stream has ended and every message was read; faulted when the server ended the subscription.</summary>
    public Task Completion => _messages.Reader.Completion;

    /// <summary>
    /// Raised after each reconnect once the server confirmed the subscription again. When
    /// <see cref="PubSubResubscribedEventArgs.Recovered"/> is false, publications were missed.
    /// Raised on the client's receive loop: keep handlers short and never block in them.
    /// </summary>
    public event EventHandler<PubSubResubscribedEventArgs>? Resubscribed;

    /// <summary>
    /// Raised when publications are known to be lost to this subscription: a resubscribe the
    /// server's history could not cover, or a gap the server reports on a live subscription (its
    /// broker lost publications it could not recover). The stream goes on after
    /// <see cref="PubSubMissedEventArgs.Position"/>; reload whatever state the channel feeds.
    /// Raised on the client's receive loop, in order with the messages: keep handlers short.
    /// </summary>
    public event EventHandler<PubSubMissedEventArgs>? Missed;

    /// <summary>
    /// Another client subscribed to the channel (a <c>join</c> frame, on channels whose template
    /// announces joins and leaves). Not a publication: it does not move <see cref="Position"/>,
    /// and joins that happened while disconnected are not replayed (read
    /// <see cref="PubSubClient.PresenceAsync"/>). Raised on the client's receive loop: keep handlers short.
    /// </summary>
    public event EventHandler<PubSubPresenceEventArgs>? Joined;

    /// <summary>Another client's subscription to the channel ended (a <c>leave</c> frame); as <see cref="Joined"/>.</summary>
    public event EventHandler<PubSubPresenceEventArgs>? Left;

    /// <summary>
    /// The server ended the subscription (an <c>unsubscribed</c> frame) with a code and reason;
    /// <see cref="State"/> is then <see cref="PubSubSubscriptionState.EndedByServer"/> and the
    /// stream ends with a <see cref="PubSubException"/> of that code. Raised before the stream ends.
    /// </summary>
    public event EventHandler<PubSubUnsubscribedEventArgs>? Unsubscribed;

    /// <summary>The messages, in order, until the subscription ends (see <see cref="PubSubSubscription"/>).</summary>
    public async IAsyncEnumerable<PubSubMessage> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var message in _messages.Reader.ReadAllAsync(cancellationToken))
        {
            yield return message;
        }
    }

    /// <summary>Ends the subscription; the stream completes. Waits for the server's confirmation when connected.</summary>
    public ValueTask UnsubscribeAsync(CancellationToken cancellationToken = default) => _client.UnsubscribeAsync(this, cancellationToken);

    /// <summary>Unsubscribes, without throwing: a failure only means the server ends it with the session.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await UnsubscribeAsync();
        }
        catch (Exception e) when (e is PubSubException or OperationCanceledException or ObjectDisposedException)
        {
            _client.LogUnsubscribeFailed(Channel, e);
        }
    }

    /// <summary>Completes when the server first confirmed the subscription; faulted when it refused.</summary>
    internal Task Ready => _ready.Task;

    /// <summary>The connection on which the subscription is established; messages from others are not for it.</summary>
    internal Connection? ActiveOn
    {
        get => Volatile.Read(ref _activeOn);
        set => Volatile.Write(ref _activeOn, value);
    }

    /// <summary>
    /// An upgrade probe's connection that replays the channel from this subscription's position
    /// and feeds it too, until the probe takes over: both deliver in offset order, and
    /// <see cref="OnMessage"/> drops what one delivered already.
    /// </summary>
    internal Connection? ProbeOn
    {
        get => Volatile.Read(ref _probeOn);
        set => Volatile.Write(ref _probeOn, value);
    }

    /// <summary>Whether a message from <paramref name="connection"/> is for this subscription.</summary>
    internal bool Receives(Connection connection) => ActiveOn == connection || ProbeOn == connection;

    /// <summary><paramref name="connection"/> ended, or its probe was abandoned: it feeds this subscription no more.</summary>
    internal void LeaveLocked(Connection connection)
    {
        AbandonCatchUp(connection);
        if (ActiveOn == connection)
        {
            ActiveOn = null;
        }
        if (ProbeOn == connection)
        {
            ProbeOn = null;
        }
    }

    /// <summary>The last transient refusal (<see cref="RetryRule.Later"/>) since the last success, for a first subscribe that runs out of time.</summary>
    internal PubSubException? LastRefusal
    {
        get
        {
            lock (_gate)
            {
                return _lastRefusal;
            }
        }
    }

    /// <summary>
    /// The wait before asking again after a transient refusal: 1 s, doubling to 30 s, reset by a
    /// success. Without jitter: each subscription's own timing is jitter enough, and the reconnect
    /// that came first already spread the clients out.
    /// </summary>
    internal TimeSpan NextRetryDelay(PubSubException refusal)
    {
        lock (_gate)
        {
            _lastRefusal = refusal;
            var delay = _retryDelay;
            _retryDelay = TimeSpan.FromTicks(Math.Min(_retryDelay.Ticks * 2, MaxRetryDelay.Ticks));
            return delay;
        }
    }

    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(30);
    private TimeSpan _retryDelay = FirstRetryDelay;
    private PubSubException? _lastRefusal;

    /// <summary>The position to recover from (null: start from now).</summary>
    internal StreamPosition? RecoveryPosition => Position;

    /// <summary>The subscribe (with <paramref name="since"/>, or without) succeeded on <paramref name="connection"/>.</summary>
    internal void OnSubscribed(Connection connection, StreamPosition latest, StreamPosition? since, bool recovered)
    {
        bool resubscribed;
        lock (_gate)
        {
            resubscribed = MarkSubscribedLocked(connection);
            if (since is null)
            {
                _position = latest;
                _recovered = null;
            }
            else
            {
                _recovered = recovered;
                if (!recovered)
                {
                    // History no longer covers the gap (or the epoch changed): continue from now.
                    _position = latest;
                }
                // Recovered: the missed publications follow as messages and move the position.
            }
        }
        _ready.TrySetResult();
        if (resubscribed)
        {
            _client.Raise(Resubscribed, this, new PubSubResubscribedEventArgs(Channel, since, latest, since is null || recovered));
        }
        if (since is not null && !recovered)
        {
            _client.Raise(Missed, this, new PubSubMissedEventArgs(Channel, since, latest));
        }
    }

    /// <summary>
    /// The server reports a gap on the live subscription (<c>subscribed</c> with
    /// <c>recovered: false</c>, protocol section 2.4): the next message comes after <paramref name="position"/>.
    /// </summary>
    internal void OnLiveGap(StreamPosition position)
    {
        StreamPosition? from;
        lock (_gate)
        {
            from = _position;
            _position = position;
            _recovered = false;
        }
        _client.Raise(Missed, this, new PubSubMissedEventArgs(Channel, from, position));
    }

    /// <summary>
    /// Delivers a publication unless it was delivered already: a connection delivers a channel's
    /// publications in offset order from where its subscribe started, so within an epoch "newer
    /// than the position" is exactly "not seen yet". A new epoch is always new. During an upgrade
    /// two connections call this at once; the check and the write are one step under the lock,
    /// so the stream stays in order. While catching up from history, live messages wait.
    /// </summary>
    internal void OnMessage(ServerFrame frame)
    {
        bool invalid;
        lock (_gate)
        {
            if (_heldWhileCatchingUp is { } held)
            {
                held.Add(frame);
                return;
            }
            invalid = DeliverLocked(frame);
        }
        if (invalid)
        {
            ReportInvalidBinary(frame.Position);
        }
    }

    /// <summary>Another session joined or left (a <c>join</c> or <c>leave</c> frame).</summary>
    internal void OnPresenceEvent(ServerFrame frame) =>
        _client.Raise(frame.Type == ServerFrameType.Join ? Joined : Left, this, new PubSubPresenceEventArgs(Channel, Replies.MemberOf(frame)));

    /// <summary>
    /// The server subscribed this client to the channel itself (a <c>subscribed</c> frame on
    /// <paramref name="connection"/>): at <paramref name="latest"/>, without recovery (section 2.3).
    /// Returns the position to read history from when publications since this subscription's
    /// position may be missing (its live messages are held until <see cref="EndCatchUp"/>), else null.
    /// </summary>
    internal StreamPosition? OnServerSubscribed(Connection connection, StreamPosition latest)
    {
        StreamPosition? from;
        StreamPosition? catchUpFrom = null;
        bool resubscribed;
        lock (_gate)
        {
            resubscribed = MarkSubscribedLocked(connection);
            IsServerSide = true;
            // A catch-up of an earlier connection that has not noticed its end yet is over.
            _heldWhileCatchingUp = null;
            _catchingUpOn = null;
            from = _position;
            if (from is not { } last)
            {
                _position = latest;
                _recovered = null;
            }
            else if (last.Epoch != latest.Epoch)
            {
                // History of the old epoch is gone: what came in between is lost.
                _position = latest;
                _recovered = false;
            }
            else if (latest.Offset > last.Offset)
            {
                catchUpFrom = last;
                _heldWhileCatchingUp = [];
                _catchingUpOn = connection;
            }
            else
            {
                _recovered = true;
            }
        }
        _ready.TrySetResult();
        if (catchUpFrom is not null)
        {
            return catchUpFrom;
        }
        var recovered = from is null || from.Value.Epoch == latest.Epoch;
        if (resubscribed)
        {
            _client.Raise(Resubscribed, this, new PubSubResubscribedEventArgs(Channel, from, latest, recovered));
        }
        if (!recovered)
        {
            _client.Raise(Missed, this, new PubSubMissedEventArgs(Channel, from, latest));
        }
        return null;
    }

    /// <summary>
    /// Delivers a page of history read while catching up. A page that starts after the next
    /// expected offset means history no longer holds what came in between: that is reported as
    /// missed, and the stream goes on with what history has.
    /// </summary>
    internal void OnHistoryPage(Connection connection, IReadOnlyList<PubSubMessage> publications)
    {
        foreach (var publication in publications)
        {
            StreamPosition? gapFrom = null;
            lock (_gate)
            {
                if (_catchingUpOn != connection)
                {
                    return;
                }
                if (_position is { } last && last.Epoch == publication.Position.Epoch && publication.Position.Offset > last.Offset + 1)
                {
                    gapFrom = last;
                    _recovered = false;
                }
            }
            if (gapFrom is not null)
            {
                _client.Raise(Missed, this, new PubSubMissedEventArgs(Channel, gapFrom, new StreamPosition(publication.Position.Offset - 1, publication.Position.Epoch)));
            }
            lock (_gate)
            {
                if (_position is not { } last || last.Epoch != publication.Position.Epoch || publication.Position.Offset > last.Offset)
                {
                    _position = publication.Position;
                    _messages.Writer.TryWrite(publication);
                }
            }
        }
    }

    /// <summary>
    /// The catch-up ended: when history did not reach <paramref name="latest"/> (or could not be
    /// read), the rest is reported as missed; then the live messages held meanwhile follow.
    /// </summary>
    internal void EndCatchUp(Connection connection, StreamPosition since, StreamPosition latest, bool complete)
    {
        StreamPosition? missedFrom = null;
        var invalid = new List<StreamPosition>();
        lock (_gate)
        {
            if (_catchingUpOn != connection)
            {
                return;
            }
            if (!complete || _position is not { } last || last.Epoch != latest.Epoch || last.Offset < latest.Offset)
            {
                missedFrom = _position;
                _position = latest;
                _recovered = false;
            }
            else
            {
                _recovered ??= true;
            }
        }
        if (missedFrom is not null)
        {
            _client.Raise(Missed, this, new PubSubMissedEventArgs(Channel, missedFrom, latest));
        }
        bool recovered;
        lock (_gate)
        {
            foreach (var frame in _heldWhileCatchingUp ?? [])
            {
                if (DeliverLocked(frame))
                {
                    invalid.Add(frame.Position);
                }
            }
            _heldWhileCatchingUp = null;
            _catchingUpOn = null;
            recovered = _recovered == true;
        }
        foreach (var position in invalid)
        {
            ReportInvalidBinary(position);
        }
        _client.Raise(Resubscribed, this, new PubSubResubscribedEventArgs(Channel, since, latest, recovered));
    }

    /// <summary>The connection of a catch-up ended first: the held messages go (the next connection delivers them again from the position).</summary>
    internal void AbandonCatchUp(Connection connection)
    {
        lock (_gate)
        {
            if (_catchingUpOn == connection)
            {
                _heldWhileCatchingUp = null;
                _catchingUpOn = null;
            }
        }
    }

    /// <summary>Whether it is established and not catching up: what an upgrade needs to move it.</summary>
    internal bool IsSteadyOn(Connection connection)
    {
        lock (_gate)
        {
            return ActiveOn == connection && _position is not null && _heldWhileCatchingUp is null;
        }
    }

    /// <summary>The server ended the subscription: the event, then the stream ends with its code and reason.</summary>
    internal void EndByServer(string code, string reason)
    {
        lock (_gate)
        {
            _state = PubSubSubscriptionState.EndedByServer;
        }
        _client.Raise(Unsubscribed, this, new PubSubUnsubscribedEventArgs(Channel, code, reason));
        End(new PubSubException(code, string.IsNullOrEmpty(reason) ? $"The server ended the subscription to '{Channel}'." : reason));
    }

    /// <summary>Established on <paramref name="connection"/>; returns whether it had been before (a resubscribe).</summary>
    private bool MarkSubscribedLocked(Connection connection)
    {
        ActiveOn = connection;
        var resubscribed = _everSubscribed;
        _everSubscribed = true;
        _state = PubSubSubscriptionState.Subscribed;
        _retryDelay = FirstRetryDelay;
        _lastRefusal = null;
        return resubscribed;
    }

    /// <summary>Writes a publication to the stream unless it was delivered already; true when its bytes were not valid base64 (skipped).</summary>
    private bool DeliverLocked(ServerFrame frame)
    {
        var position = frame.Position;
        if (_position is { } last && last.Epoch == position.Epoch && position.Offset <= last.Offset)
        {
            return false;
        }
        _position = position;
        if (frame.BinaryInvalid)
        {
            return true;
        }
        _messages.Writer.TryWrite(frame.Binary is { } bytes
            ? new PubSubMessage(Channel, position, bytes, _client.SerializerOptions)
            : new PubSubMessage(Channel, position, frame.Data, _client.SerializerOptions));
        return false;
    }

    private void ReportInvalidBinary(StreamPosition position) =>
        _client.ReportError(new PubSubException(PubSubErrorCodes.BadFrame,
            $"Publication {position} of '{Channel}' has a 'binary' field that is not base64; it was skipped."));

    /// <summary>The subscription ended: normally (null) or with <paramref name="error"/>.</summary>
    internal void End(Exception? error)
    {
        lock (_gate)
        {
            if (_state != PubSubSubscriptionState.EndedByServer)
            {
                _state = PubSubSubscriptionState.Ended;
            }
            _heldWhileCatchingUp = null;
            _catchingUpOn = null;
        }
        ActiveOn = null;
        ProbeOn = null;
        _ready.TrySetException(error ?? new PubSubException(PubSubErrorCodes.NotSubscribed, $"The subscription to '{Channel}' ended before the server confirmed it."));
        _messages.Writer.TryComplete(error);
    }
}
