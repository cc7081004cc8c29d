using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace PubSub.Redis;

/// <summary>
/// This node's subscription to one channel in Redis: it delivers the channel's publications to
/// the node in offset order, one at a time, each once, and closes gaps from history.
/// </summary>
/// <remarks>
/// Live publications come from the pub/sub connection, in order. A gap in the offsets (or a
/// dropped connection) means some were missed: the feed then holds live publications back, reads
/// the missed ones from the history stream, delivers them, and then the held ones that are newer.
/// What history no longer holds is lost, and logged. Every delivery happens under the feed's lock,
/// so recovery and live traffic never hand the node two publications of the channel at once.
/// </remarks>
internal sealed partial class ChannelFeed
{
    /// <summary>Publications read from history per round trip while recovering.</summary>
    internal const int RecoveryPageSize = 1000;

    /// <summary>Rounds of a recovery that found a new gap each time before it gives up (a later publication starts another).</summary>
    private const int MaxRecoveryRounds = 8;

    private readonly Lock _gate = new();
    private readonly IFeedSource _source;

    private FeedState _state = FeedState.Live;

    // Live publications held back while the feed is not live; null while it is.
    private List<Publication>? _held;

    // The last publication delivered; before the first, the channel's position when the subscription began.
    private StreamPosition? _delivered;
    private StreamPosition? _floor;

    // The end of the latest range that recovery could not read from history.
    private StreamPosition? _unrecoverable;

    // Only the pub/sub dispatch thread touches this: it decodes one message at a time.
    private string? _lastEpoch;

    public ChannelFeed(string channel, RedisShard? shard, RedisChannel redisChannel, IFeedSource source)
    {
        Channel = channel;
        Shard = shard;
        RedisChannel = redisChannel;
        _source = source;
    }

    public string Channel { get; }

    public RedisShard? Shard { get; }

    public RedisChannel RedisChannel { get; }

    // How many heartbeats in a row found the subscription missing while connected; only the heartbeat touches it.
    private int _missingChecks;

    /// <summary>
    /// Called by the heartbeat with whether Redis holds the feed's subscription while the shard
    /// is connected. True when it has been missing for two checks in a row: longer than any
    /// restore by the client library takes, so the subscription was lost and must be made again.
    /// </summary>
    internal bool IsSubscriptionLost(bool subscribed)
    {
        _missingChecks = subscribed ? 0 : _missingChecks + 1;
        return _missingChecks >= 2;
    }

    // The channel's latest position in Redis at the previous listening check; only the heartbeat touches it.
    private StreamPosition? _latestAtLastCheck;

    /// <summary>
    /// Called by the heartbeat, while it checks that feeds hear (after a cluster server failed),
    /// with the channel's latest position in Redis. True when the feed is live and a publication
    /// Redis already held at the previous check has still not been delivered: the subscription
    /// hears nothing though the client library reports it in place, and must be made again. A
    /// feed that hears is at most a moment behind, never a whole heartbeat.
    /// </summary>
    internal bool IsDeaf(StreamPosition latest)
    {
        StreamPosition? reached;
        FeedState state;
        lock (_gate)
        {
            reached = _delivered ?? _floor;
            state = _state;
        }
        var before = _latestAtLastCheck;
        _latestAtLastCheck = latest;
        return state == FeedState.Live && before is { } held && reached is { } delivered
            && delivered.Epoch == held.Epoch && delivered.Offset < held.Offset;
    }

    /// <summary>Starts the listening checks afresh, after the subscription was made again.</summary>
    internal void ResetListeningCheck() => _latestAtLastCheck = null;

    /// <summary>Where the feed stands; see <see cref="FeedState"/>.</summary>
    internal FeedState State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    /// <summary>True while publications are held back (a recovery runs, or waits to be started).</summary>
    internal bool IsHolding => State is FeedState.Holding or FeedState.Recovering or FeedState.RecoveringAgain;

    /// <summary>
    /// Subscribes the feed on <paramref name="subscriber"/>, with a queue of its own; completes
    /// when Redis confirmed it. The queue hands messages over one at a time in the order they
    /// arrived, which the broker relies on to deliver offsets in order and never two at once (the
    /// callback form of subscribing runs handlers concurrently and reorders).
    /// </summary>
    public async Task SubscribeAsync(ISubscriber subscriber)
    {
        var queue = await subscriber.SubscribeAsync(RedisChannel).ConfigureAwait(false);
        queue.OnMessage(message => OnMessage(message.Channel, message.Message));
    }

    /// <summary>
    /// Ends the feed's subscription, and with it any the client library still keeps for the channel
    /// (one whose SUBSCRIBE failed is kept, to be sent after a reconnect). A node has one feed per
    /// channel, and the broker calls this before a new feed for it can subscribe.
    /// </summary>
    public Task UnsubscribeAsync(ISubscriber subscriber) => subscriber.UnsubscribeAsync(RedisChannel);

    /// <summary>
    /// Records where the channel stood once the subscription took effect: the reference for the
    /// first gap check. A feed that held publications back meanwhile recovers from here.
    /// </summary>
    public void SetFloor(StreamPosition position)
    {
        lock (_gate)
        {
            if (_delivered is not null)
            {
                return;
            }
            _floor = position;
            if (_state != FeedState.Holding)
            {
                return;
            }
            MoveTo(FeedState.Recovering);
        }
        StartRecovery();
    }

    /// <summary>The pub/sub connection dropped: hold whatever arrives until <see cref="Recover"/> has read what was missed.</summary>
    public void Suspend()
    {
        lock (_gate)
        {
            if (_state == FeedState.Live)
            {
                MoveTo(FeedState.Holding);
            }
        }
    }

    /// <summary>Reads what was missed since the last delivery and delivers it, then what was held.</summary>
    public void Recover()
    {
        lock (_gate)
        {
            switch (_state)
            {
                case FeedState.Retired or FeedState.RecoveringAgain:
                    return;
                case FeedState.Recovering:
                    // The running recovery may have read before the reason for this one: another round.
                    MoveTo(FeedState.RecoveringAgain);
                    return;
            }
            if (!CanRecoverLocked())
            {
                return;
            }
            MoveTo(FeedState.Recovering);
        }
        StartRecovery();
    }

    /// <summary>
    /// True when the feed knows where it stands, so a recovery has a place to read from. Until its subscribe has read the channel's
    /// position, nothing before that position is owed to it, so there is nothing to read back
    /// from: reading from the start would hand the node the channel's whole history again. Such a
    /// feed holds what arrives, and <see cref="SetFloor"/> starts the recovery.
    /// </summary>
    private bool CanRecoverLocked()
    {
        if ((_delivered ?? _floor) is not null)
        {
            return true;
        }
        MoveTo(FeedState.Holding);
        return false;
    }

    /// <summary>
    /// Starts a recovery if the feed holds publications back with none running: a safety net,
    /// called by the heartbeat, in case a dropped connection was never reported as restored.
    /// </summary>
    public void RecoverIfStalled()
    {
        lock (_gate)
        {
            if (_state != FeedState.Holding || !CanRecoverLocked())
            {
                return;
            }
            MoveTo(FeedState.Recovering);
        }
        StartRecovery();
    }

    /// <summary>The node unsubscribed: nothing more is delivered.</summary>
    public void Retire()
    {
        lock (_gate)
        {
            MoveTo(FeedState.Retired);
        }
    }

    /// <summary>
    /// Every change of state, in one place: publications are held in every state but
    /// <see cref="FeedState.Live"/> and <see cref="FeedState.Retired"/>, and kept across the states
    /// that hold them.
    /// </summary>
    private void MoveTo(FeedState state)
    {
        _state = state;
        _held = state is FeedState.Live or FeedState.Retired ? null : _held ?? [];
    }

    private void OnMessage(RedisChannel channel, RedisValue message)
    {
        var bytes = (byte[]?)message ?? [];
        if (PresenceCodec.IsEvent(bytes))
        {
            if (_state != FeedState.Retired && PresenceCodec.TryReadEvent(Channel, bytes, out var presence))
            {
                _source.DeliverPresence(presence!);
            }
            return;
        }
        if (!PublicationCodec.TryDecode(Channel, bytes, ref _lastEpoch, out var publication))
        {
            Log.MalformedMessage(_source.Logger, Channel);
            return;
        }
        OnPublication(publication!);
    }

    /// <summary>A live publication, in the order the pub/sub connection delivered it.</summary>
    internal void OnPublication(Publication publication)
    {
        lock (_gate)
        {
            switch (_state)
            {
                case FeedState.Retired:
                    return;
                case FeedState.Holding or FeedState.Recovering or FeedState.RecoveringAgain:
                    _held!.Add(publication);
                    return;
            }
            switch (Classify(publication.Position))
            {
                case Verdict.Repeat:
                    return;
                case Verdict.Next:
                    DeliverLocked(publication);
                    return;
            }
            MoveTo(FeedState.Recovering);
            _held!.Add(publication);
        }
        StartRecovery();
    }

    private Verdict Classify(StreamPosition position)
    {
        if ((_delivered ?? _floor) is not { } reference)
        {
            return Verdict.Next;
        }
        if (position.Epoch == reference.Epoch && position.Offset <= reference.Offset)
        {
            // At or below the floor and nothing delivered yet: published before the subscription
            // took effect but delivered after it. The node has not seen it.
            return _delivered is null ? Verdict.Next : Verdict.Repeat;
        }
        // A new epoch's stream starts at 1.
        var expected = position.Epoch == reference.Epoch ? reference.Offset + 1 : 1;
        if (position.Offset == expected)
        {
            return Verdict.Next;
        }
        // Within a range that recovery found history does not hold: what still arrives of it (it
        // was on its way when history was read) is delivered, in order; the rest is lost.
        return _unrecoverable is { } range && range.Epoch == position.Epoch && position.Offset <= range.Offset + 1
            ? Verdict.Next
            : Verdict.Gap;
    }

    private void DeliverLocked(Publication publication)
    {
        _delivered = publication.Position;
        _source.Deliver(publication);
    }

    private void StartRecovery() =>
        ThreadPool.UnsafeQueueUserWorkItem(static feed => _ = feed.RecoverAsync(), this, preferLocal: false);

    private async Task RecoverAsync()
    {
        var rounds = 0;
        while (true)
        {
            StreamPosition? reference;
            int heldBeforeRead;
            lock (_gate)
            {
                if (_state == FeedState.Retired)
                {
                    return;
                }
                // A round asked for meanwhile is this one.
                MoveTo(FeedState.Recovering);
                reference = _delivered ?? _floor;
                heldBeforeRead = _held!.Count;
            }

            Missed missed;
            try
            {
                missed = await ReadMissedAsync(reference);
            }
            catch (PubSubException e)
            {
                Log.RecoveryReadFailed(_source.Logger, Channel, e.Message);
                if (!await DelayRetryAsync())
                {
                    return;
                }
                continue;
            }
            catch (Exception e)
            {
                // Whatever went wrong, the loop must not end while the feed holds publications
                // back: that would silence the channel on this node for good.
                Log.RecoveryFailed(_source.Logger, Channel, e);
                if (!await DelayRetryAsync())
                {
                    return;
                }
                continue;
            }

            Outcome outcome;
            int delivered;
            var done = false;
            lock (_gate)
            {
                if (_state == FeedState.Retired)
                {
                    return;
                }
                (outcome, delivered) = Merge(missed, heldBeforeRead);
                if (outcome == Outcome.CaughtUp && _state == FeedState.Recovering)
                {
                    MoveTo(FeedState.Live);
                    done = true;
                }
            }
            if (delivered > 0)
            {
                _source.OnRecovered(Channel, delivered);
            }
            if (done)
            {
                return;
            }
            if (outcome != Outcome.CaughtUp && ++rounds >= MaxRecoveryRounds)
            {
                GiveUp(rounds);
                return;
            }
            if (outcome == Outcome.Rewound)
            {
                Log.StreamRewound(_source.Logger, Channel, missed.Latest.Epoch, missed.Latest.Offset, reference!.Value.Offset);
                try
                {
                    await _source.RestartEpochAsync(Channel, missed.Latest, reference.Value.Offset);
                }
                catch (Exception e)
                {
                    Log.RecoveryFailed(_source.Logger, Channel, e);
                    if (!await DelayRetryAsync())
                    {
                        return;
                    }
                }
            }
        }
    }

    /// <summary>Publications keep outrunning the reads: deliver the held ones as they are, and go live.</summary>
    private void GiveUp(int rounds)
    {
        lock (_gate)
        {
            if (_state == FeedState.Retired)
            {
                return;
            }
            foreach (var publication in _held!)
            {
                if (Classify(publication.Position) != Verdict.Repeat)
                {
                    DeliverLocked(publication);
                }
            }
            MoveTo(FeedState.Live);
        }
        Log.RecoveryGaveUp(_source.Logger, Channel, rounds);
    }

    /// <summary>
    /// Waits before retrying; false when the broker is stopping and the recovery must end (the
    /// feed then holds, and nothing starts it again).
    /// </summary>
    private async Task<bool> DelayRetryAsync()
    {
        try
        {
            await _source.DelayRetryAsync();
            return true;
        }
        catch (OperationCanceledException)
        {
            lock (_gate)
            {
                if (_state != FeedState.Retired)
                {
                    MoveTo(FeedState.Holding);
                }
            }
            return false;
        }
    }

    /// <summary>The channel's position and what history holds after <paramref name="reference"/> (all of it when the epoch changed).</summary>
    private async Task<Missed> ReadMissedAsync(StreamPosition? reference)
    {
        var since = reference?.Offset ?? 0;
        var page = await _source.ReadAsync(Channel, since, RecoveryPageSize);
        if (since > 0 && page.Latest.Epoch != reference!.Value.Epoch)
        {
            since = 0;
            page = await _source.ReadAsync(Channel, since, RecoveryPageSize);
        }
        var latest = page.Latest;
        var publications = new List<Publication>(page.Publications);
        while (page.Publications.Count == RecoveryPageSize && publications[^1].Offset < latest.Offset)
        {
            page = await _source.ReadAsync(Channel, publications[^1].Offset, RecoveryPageSize);
            if (page.Latest.Epoch != latest.Epoch)
            {
                break;
            }
            publications.AddRange(page.Publications);
            latest = page.Latest;
        }
        return new Missed(latest, publications);
    }

    /// <summary>
    /// Delivers what the read found and what was held, in offset order; the held publications
    /// newer than the read then follow the live rules. Returns whether the feed has caught up.
    /// </summary>
    private (Outcome Outcome, int Delivered) Merge(Missed missed, int heldBeforeRead)
    {
        var latest = missed.Latest;
        var held = _held!;
        if ((_delivered ?? _floor) is { } last && last.Epoch == latest.Epoch && last.Offset > latest.Offset)
        {
            return (Outcome.Rewound, 0);
        }

        // Up to the position read: history, plus held publications history no longer has.
        var upToRead = new SortedList<long, Publication>(missed.Publications.Count);
        foreach (var publication in missed.Publications)
        {
            upToRead.TryAdd(publication.Offset, publication);
        }
        var newer = new List<Publication>();
        for (var i = 0; i < held.Count; i++)
        {
            var publication = held[i];
            if (publication.Epoch == latest.Epoch)
            {
                if (publication.Offset <= latest.Offset)
                {
                    upToRead.TryAdd(publication.Offset, publication);
                }
                else
                {
                    newer.Add(publication);
                }
            }
            else if (i >= heldBeforeRead)
            {
                // Arrived after the read began, so it may be from an epoch newer than the read saw.
                newer.Add(publication);
            }
            // Otherwise it is from an epoch the channel had left before the read: stale.
        }

        var delivered = 0;
        foreach (var publication in upToRead.Values)
        {
            var verdict = Classify(publication.Position);
            if (verdict == Verdict.Repeat)
            {
                continue;
            }
            if (verdict == Verdict.Gap)
            {
                LogLost(publication.Position);
            }
            DeliverLocked(publication);
            delivered++;
        }
        if ((_delivered ?? _floor) is not { } reached || reached.Epoch != latest.Epoch || reached.Offset < latest.Offset)
        {
            // The rest of the range is in neither history nor the held publications. Some of it
            // may still be on its way from the pub/sub connection; nothing else will bring it.
            LogLost(new StreamPosition(latest.Offset + 1, latest.Epoch));
            _unrecoverable = latest;
        }

        for (var i = 0; i < newer.Count; i++)
        {
            switch (Classify(newer[i].Position))
            {
                case Verdict.Next:
                    DeliverLocked(newer[i]);
                    delivered++;
                    break;
                case Verdict.Gap:
                    _held = newer[i..];
                    return (Outcome.Gap, delivered);
            }
        }
        held.Clear();
        return (Outcome.CaughtUp, delivered);
    }

    /// <summary>Logs the publications between the last delivery and <paramref name="next"/> as lost.</summary>
    private void LogLost(StreamPosition next)
    {
        var from = (_delivered ?? _floor) is { } last && last.Epoch == next.Epoch ? last.Offset + 1 : 1;
        if (next.Offset > from)
        {
            Log.PublicationsLost(_source.Logger, Channel, next.Epoch, from, next.Offset - 1);
        }
    }

    /// <summary>Where a feed stands.</summary>
    internal enum FeedState
    {
        /// <summary>Delivering each publication as it arrives.</summary>
        Live,

        /// <summary>Holding publications back (the connection dropped); nothing reads the missed ones yet.</summary>
        Holding,

        /// <summary>Reading what was missed from history, holding what arrives meanwhile.</summary>
        Recovering,

        /// <summary>As <see cref="Recovering"/>, and another round was asked for: the read may predate its reason.</summary>
        RecoveringAgain,

        /// <summary>Unsubscribed: nothing more is delivered.</summary>
        Retired,
    }

    private enum Verdict
    {
        Next,
        Repeat,
        Gap,
    }

    private enum Outcome
    {
        CaughtUp,
        Gap,
        Rewound,
    }

    private readonly record struct Missed(StreamPosition Latest, List<Publication> Publications);

    private static partial class Log
    {
        [LoggerMessage(101, LogLevel.Warning, "A message on the Redis channel of '{Channel}' could not be decoded; it was dropped.")]
        public static partial void MalformedMessage(ILogger logger, string channel);

        [LoggerMessage(102, LogLevel.Warning, "Reading the missed publications of '{Channel}' from Redis failed ({Reason}); trying again.")]
        public static partial void RecoveryReadFailed(ILogger logger, string channel, string reason);

        [LoggerMessage(103, LogLevel.Warning, "Channel '{Channel}' lost publications {From} to {To} of epoch {Epoch} on this node (those not still on their way): history no longer held them when it recovered.")]
        public static partial void PublicationsLost(ILogger logger, string channel, string epoch, long from, long to);

        [LoggerMessage(104, LogLevel.Error, "Channel '{Channel}' went back in time in Redis (epoch {Epoch} is at offset {Offset}, this node delivered up to {Delivered}); starting a new epoch so no publication is mistaken for a repeat.")]
        public static partial void StreamRewound(ILogger logger, string channel, string epoch, long offset, long delivered);

        [LoggerMessage(106, LogLevel.Error, "Recovering '{Channel}' failed unexpectedly; trying again.")]
        public static partial void RecoveryFailed(ILogger logger, string channel, Exception exception);

        [LoggerMessage(105, LogLevel.Warning, "Channel '{Channel}' kept finding new gaps after {Rounds} recovery rounds; delivering what arrived live.")]
        public static partial void RecoveryGaveUp(ILogger logger, string channel, int rounds);
    }
}
