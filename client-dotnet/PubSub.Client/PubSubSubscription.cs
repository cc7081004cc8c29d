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
    private Connection? _activeOn;
    private Connection? _probeOn;

    internal PubSubSubscription(PubSubClient client, string channel, StreamPosition? since)
    {
        _client = client;
        Channel = channel;
        _position = since;
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
            ActiveOn = connection;
            resubscribed = _everSubscribed;
            _everSubscribed = true;
            _retryDelay = FirstRetryDelay;
            _lastRefusal = null;
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
    /// so the stream stays in order.
    /// </summary>
    internal void OnMessage(ServerFrame frame)
    {
        var position = frame.Position;
        lock (_gate)
        {
            if (_position is { } last && last.Epoch == position.Epoch && position.Offset <= last.Offset)
            {
                return;
            }
            _position = position;
            if (!frame.BinaryInvalid)
            {
                _messages.Writer.TryWrite(frame.Binary is { } bytes
                    ? new PubSubMessage(Channel, position, bytes, _client.SerializerOptions)
                    : new PubSubMessage(Channel, position, frame.Data, _client.SerializerOptions));
                return;
            }
        }
        _client.ReportError(new PubSubException(PubSubErrorCodes.BadFrame,
            $"Publication {position} of '{Channel}' has a 'binary' field that is not base64; it was skipped."));
    }

    /// <summary>The subscription ended: normally (null) or with <paramref name="error"/>.</summary>
    internal void End(Exception? error)
    {
        ActiveOn = null;
        ProbeOn = null;
        _ready.TrySetException(error ?? new PubSubException(PubSubErrorCodes.NotSubscribed, $"The subscription to '{Channel}' ended before the server confirmed it."));
        _messages.Writer.TryComplete(error);
    }
}
