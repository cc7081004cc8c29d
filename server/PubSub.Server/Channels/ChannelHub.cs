using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PubSub.Diagnostics;
using PubSub.Limits;
using PubSub.Protocol;
using PubSub.Sessions;

namespace PubSub.Channels;

/// <summary>What a subscription found when it went live.</summary>
internal readonly record struct SubscribeOutcome(StreamPosition Latest, bool? Recovered);

/// <summary>
/// This node's side of every channel that has local subscribers: it holds the node's interest
/// with the broker (one broker subscription per channel, however many sessions), and fans each
/// publication out by serializing it once per encoding and handing the same bytes to every
/// subscriber of that encoding.
/// </summary>
internal sealed partial class ChannelHub
{
    /// <summary>
    /// How long the node keeps its broker subscription after the last local subscriber leaves, so
    /// that a client that leaves and comes straight back (a page reload) costs no broker round trips.
    /// </summary>
    public static readonly TimeSpan InterestLinger = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<string, LocalChannel> _channels = new(StringComparer.Ordinal);
    private readonly MeasuredBroker _broker;
    private readonly HistoryReads _historyReads;
    private readonly PubSubMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly int _maxSubscribers;

    public ChannelHub(MeasuredBroker broker, IOptions<PubSubOptions> options, TimeProvider time, PubSubMetrics metrics, ILogger<ChannelHub> logger)
    {
        _maxSubscribers = options.Value.Limits.MaxSubscribersPerChannel;
        _metrics = metrics;
        metrics.ObserveChannels(() => LocalChannelCount);
        _broker = broker;
        _historyReads = new HistoryReads(broker, time);
        _time = time;
        _logger = logger;
    }

    /// <summary>Channels this node currently holds a broker subscription for (or lingers on).</summary>
    public int LocalChannelCount => _channels.Count;

    /// <summary>History reads that subscriptions going live made of the broker (shared by those that came together).</summary>
    internal long HistoryBrokerReads => _historyReads.BrokerReads;

    /// <summary>Reads answered by the page kept from an earlier read, for tests.</summary>
    internal long HistoryReadsReused => _historyReads.Reused;

    /// <summary>Subscriptions waiting for the next history read of their channel, for tests.</summary>
    internal int HistoryReadsWaiting => _historyReads.Waiting;

    public bool HasLocalChannel(string channel) => _channels.ContainsKey(channel);

    /// <summary>
    /// Each channel this node holds with its local subscriber count (0 while it lingers), for the
    /// node's snapshot (<see cref="NodeSnapshot"/>). Enumerating takes no lock and copies nothing;
    /// the counts are each a moment's, not one moment's for all.
    /// </summary>
    public IEnumerable<(string Channel, int Subscribers)> LocalChannels
    {
        get
        {
            foreach (var (name, channel) in _channels)
            {
                yield return (name, channel.Subscribers.Length);
            }
        }
    }

    /// <summary>
    /// Brings a subscription live: registers it (buffering), makes sure the node receives the
    /// channel, reads history, and replays from <paramref name="since"/> when it is covered.
    /// <paramref name="firstFrame"/> builds the frame that must precede every message.
    /// </summary>
    public async Task<SubscribeOutcome> SubscribeAsync(
        Subscription subscription,
        StreamPosition? since,
        Func<SubscribeOutcome, byte[]?> firstFrame,
        CancellationToken cancellationToken)
    {
        var channel = await AcquireAsync(subscription, cancellationToken);
        try
        {
            var history = subscription.Match.Options.History;
            var recovering = since is not null && history.IsEnabled;
            var query = recovering ? new HistoryQuery(since!.Value.Offset, history.Size) : new HistoryQuery(null, 0);
            // After registering: a publication the node delivers from here on reaches the
            // subscription's buffer (the full fence pairs with the one in OnPublication).
            Interlocked.MemoryBarrier();
            var page = await _historyReads.ReadAsync(subscription.Channel, query, channel.LastDelivered, cancellationToken);
            if (subscription.Match.Options.TracksPresence)
            {
                // Before the reply: a client that asks for presence once subscribed finds itself.
                subscription.EnterPresence();
                await _broker.AddPresenceAsync(subscription.Channel, MemberOf(subscription.Session), subscription.Match.Options.JoinLeave, cancellationToken);
            }

            var outcome = new SubscribeOutcome(page.Latest, since is null ? null : false);
            var startAt = page.Latest;
            IReadOnlyList<Publication> replay = [];
            if (since is { } from && IsCovered(from, page))
            {
                outcome = outcome with { Recovered = true };
                startAt = from;
                replay = page.Publications;
            }
            if (since is not null)
            {
                _metrics.Recovery(outcome.Recovered == true, replay.Count);
            }
            await subscription.ActivateAsync(firstFrame(outcome), startAt, replay, cancellationToken);
            return outcome;
        }
        catch
        {
            Release(subscription, channel);
            throw;
        }
    }

    /// <summary>
    /// True when the client at <paramref name="since"/> can be brought up to date from
    /// <paramref name="page"/>: same epoch, and either nothing was missed or history holds every
    /// publication after it.
    /// </summary>
    internal static bool IsCovered(StreamPosition since, HistoryPage page)
    {
        if (since.Epoch != page.Latest.Epoch || since.Offset > page.Latest.Offset)
        {
            return false;
        }
        if (since.Offset == page.Latest.Offset)
        {
            return true;
        }
        var publications = page.Publications;
        return publications.Count == page.Latest.Offset - since.Offset
            && publications[0].Offset == since.Offset + 1
            && publications[^1].Offset == page.Latest.Offset;
    }

    /// <summary>Removes a live subscription from its channel; the node lets go of the channel after a linger.</summary>
    public void Unsubscribe(Subscription subscription)
    {
        if (_channels.TryGetValue(subscription.Channel, out var channel))
        {
            Release(subscription, channel);
        }
    }

    /// <summary>A publication the broker delivered to this node: serialized once, handed to every local subscriber.</summary>
    public void OnPublication(Publication publication)
    {
        if (!_channels.TryGetValue(publication.Channel, out var channel))
        {
            return;
        }
        // Noted before the subscribers are read, with a full fence: a subscription registered too
        // late to be among them sees this publication as delivered, and reads history afresh.
        channel.Delivering(publication);
        var subscribers = channel.Subscribers;
        if (subscribers.Length == 0)
        {
            return;
        }
        // Serialized once per encoding, when its first subscriber comes up (none for an encoding
        // no subscriber here uses); every subscriber of an encoding queues the same bytes.
        var frames = new PublicationFrames();
        foreach (var subscriber in subscribers)
        {
            var encoding = subscriber.Session.Encoding;
            ref var frame = ref frames[encoding.Id];
            if (frame.Bytes.IsEmpty)
            {
                frame = OutboundFrame.Publication(encoding.Message(publication), publication.Channel, publication.Position);
                _metrics.FanOutFrameBuilt(encoding);
            }
            subscriber.Deliver(frame);
        }
    }

    /// <summary>The presence member a session is: its id, its user's id, its connection info.</summary>
    public static PresenceMember MemberOf(Session session) => new(session.Id, ChannelAccess.UserIdOf(session.User), session.ConnectionInfo);

    /// <summary>
    /// A join or leave the broker delivered: a <c>join</c> or <c>leave</c> frame to every live
    /// local subscriber but the member's own session, built once per encoding, at most the
    /// template's <see cref="ChannelOptions.JoinLeaveRate"/> per second (the rest is dropped).
    /// A subscription still being made gets none: its reply must come first.
    /// </summary>
    public void OnPresence(PresenceEvent presence)
    {
        if (!_channels.TryGetValue(presence.Channel, out var channel))
        {
            return;
        }
        var subscribers = channel.Subscribers;
        if (subscribers.Length == 0 || subscribers[0].Match.Options is not { JoinLeave: true } options)
        {
            return;
        }
        var frames = new PublicationFrames();
        var counted = false;
        foreach (var subscriber in subscribers)
        {
            if (!subscriber.IsLive || subscriber.Session.Id == presence.Member.Session)
            {
                continue;
            }
            if (!counted)
            {
                // Only an event someone here gets counts against the rate.
                lock (channel.Gate)
                {
                    if (!channel.TakeJoinLeaveToken(_time, options.JoinLeaveRate))
                    {
                        _metrics.JoinLeaveDropped();
                        return;
                    }
                }
                counted = true;
            }
            var encoding = subscriber.Session.Encoding;
            ref var frame = ref frames[encoding.Id];
            if (frame.Bytes.IsEmpty)
            {
                frame = new OutboundFrame(encoding.Presence(presence));
            }
            subscriber.Session.Send(frame);
        }
    }

    /// <summary>A publication's frame per encoding (indexed by <see cref="FrameEncoding.Id"/>), on the fan-out's stack.</summary>
    [System.Runtime.CompilerServices.InlineArray(FrameEncoding.Count)]
    private struct PublicationFrames
    {
        private OutboundFrame _first;
    }

    private async Task<LocalChannel> AcquireAsync(Subscription subscription, CancellationToken cancellationToken)
    {
        while (true)
        {
            var channel = _channels.GetOrAdd(subscription.Channel, static name => new LocalChannel(name));
            Task interest;
            lock (channel.Gate)
            {
                if (channel.Retired)
                {
                    continue;
                }
                if (_maxSubscribers > 0 && channel.Subscribers.Length >= _maxSubscribers)
                {
                    _metrics.LimitRefused(LimitNames.SubscribersPerChannel);
                    throw new PubSubException(PubSubErrorCodes.TooManySubscribers,
                        $"'{channel.Name}' has as many subscribers on this node as it may ({_maxSubscribers}).");
                }
                channel.Add(subscription);
                _metrics.SubscriptionsChanged(1);
                channel.CancelLinger();
                // Once per channel, however many sessions join while it is in flight.
                interest = channel.Interest ??= _broker.SubscribeAsync(channel.Name, CancellationToken.None).AsTask();
            }

            try
            {
                await interest.WaitAsync(cancellationToken);
                return channel;
            }
            catch
            {
                lock (channel.Gate)
                {
                    if (channel.Interest == interest && interest.IsFaulted)
                    {
                        channel.Interest = null;
                    }
                }
                Release(subscription, channel);
                throw;
            }
        }
    }

    private void Release(Subscription subscription, LocalChannel channel)
    {
        lock (channel.Gate)
        {
            if (!channel.Remove(subscription))
            {
                return;
            }
            _metrics.SubscriptionsChanged(-1);
            if (channel.Subscribers.Length == 0 && !channel.Retired)
            {
                channel.StartLinger(_time, InterestLinger, () => OnLingerExpired(channel));
            }
        }
        if (subscription.LeavePresence())
        {
            // Issued now, so it reaches the broker after the add; not awaited, as a release is not.
            _ = LeavePresenceAsync(subscription);
        }
    }

    private async Task LeavePresenceAsync(Subscription subscription)
    {
        try
        {
            await _broker.RemovePresenceAsync(subscription.Channel, subscription.Session.Id, subscription.Match.Options.JoinLeave, CancellationToken.None);
        }
        catch (Exception e)
        {
            // The entry then goes with the node's refresh in Redis, or stays until the node stops.
            Log.PresenceRemoveFailed(_logger, subscription.Channel, e);
        }
    }

    private void OnLingerExpired(LocalChannel channel)
    {
        Task unsubscribe;
        lock (channel.Gate)
        {
            if (channel.Retired || channel.Subscribers.Length > 0 || channel.Interest is null)
            {
                return;
            }
            channel.Retired = true;
            // Called before the channel leaves the map: a new LocalChannel for the same name can
            // only be created afterwards, so its SubscribeAsync reaches the broker after this.
            try
            {
                unsubscribe = _broker.UnsubscribeAsync(channel.Name, CancellationToken.None).AsTask();
            }
            catch (Exception e)
            {
                // This runs on a timer thread, where an exception would end the process.
                unsubscribe = Task.FromException(e);
            }
            _channels.TryRemove(new KeyValuePair<string, LocalChannel>(channel.Name, channel));
            _historyReads.Forget(channel.Name);
        }
        _ = ObserveAsync(unsubscribe, channel.Name);
    }

    private async Task ObserveAsync(Task unsubscribe, string channel)
    {
        try
        {
            await unsubscribe;
        }
        catch (Exception e)
        {
            Log.UnsubscribeFailed(_logger, channel, e);
        }
    }

    /// <summary>A channel as this node holds it.</summary>
    private sealed class LocalChannel
    {
        private ITimer? _linger;

        public LocalChannel(string name) => Name = name;

        public string Name { get; }

        public Lock Gate { get; } = new();

        private SubscriberList _subscribers = SubscriberList.Empty;

        /// <summary>
        /// A snapshot that never changes, so the fan-out reads it without a lock. Changes are made
        /// under <see cref="Gate"/>.
        /// </summary>
        public ReadOnlySpan<Subscription> Subscribers => Volatile.Read(ref _subscribers).Span;

        private Publication? _lastDelivered;

        /// <summary>The position of the newest publication the fan-out was handed, if any.</summary>
        public StreamPosition? LastDelivered => Volatile.Read(ref _lastDelivered)?.Position;

        /// <summary>Notes a publication about to be fanned out (never moving back within an epoch), with a full fence.</summary>
        public void Delivering(Publication publication)
        {
            while (true)
            {
                var current = Volatile.Read(ref _lastDelivered);
                if (current is not null && current.Position.Epoch == publication.Position.Epoch && current.Position.Offset >= publication.Position.Offset)
                {
                    Interlocked.MemoryBarrier();
                    return;
                }
                if (Interlocked.CompareExchange(ref _lastDelivered, publication, current) == current)
                {
                    return;
                }
            }
        }

        /// <summary>The broker subscription, once requested.</summary>
        public Task? Interest { get; set; }

        /// <summary>Removed from the hub; a newcomer must create a fresh one.</summary>
        public bool Retired { get; set; }

        /// <summary>
        /// Writes the newcomer into the spare room past the current snapshot's end (no snapshot
        /// reads that far) and publishes a snapshot one longer, doubling the room when it is full:
        /// a reconnect storm's thousands of subscribes to one channel cost amortised O(1) each
        /// instead of a copy of the whole list each (docs/benchmarks.md, the storm).
        /// </summary>
        public void Add(Subscription subscription)
        {
            var current = _subscribers;
            var items = current.Items;
            if (current.Count == items.Length)
            {
                items = new Subscription[Math.Max(4, items.Length * 2)];
                current.Span.CopyTo(items);
            }
            items[current.Count] = subscription;
            Volatile.Write(ref _subscribers, new SubscriberList(items, current.Count + 1));
        }

        /// <summary>Copies the others into a new array: the one readers may hold must not change under them.</summary>
        public bool Remove(Subscription subscription)
        {
            var current = _subscribers;
            var index = Array.IndexOf(current.Items, subscription, 0, current.Count);
            if (index < 0)
            {
                return false;
            }
            var items = new Subscription[current.Count - 1];
            current.Span[..index].CopyTo(items);
            current.Span[(index + 1)..].CopyTo(items.AsSpan(index));
            Volatile.Write(ref _subscribers, new SubscriberList(items, items.Length));
            return true;
        }

        /// <summary>The first <see cref="Count"/> entries of <see cref="Items"/>; the rest is room to add into.</summary>
        private sealed record SubscriberList(Subscription[] Items, int Count)
        {
            public static readonly SubscriberList Empty = new([], 0);

            public ReadOnlySpan<Subscription> Span => Items.AsSpan(0, Count);
        }

        public void StartLinger(TimeProvider time, TimeSpan delay, Action expired)
        {
            _linger?.Dispose();
            _linger = time.CreateTimer(static state => ((Action)state!)(), expired, delay, Timeout.InfiniteTimeSpan);
        }

        // The join/leave token bucket, under Gate: tokens, and when they were counted.
        private double _joinLeaveTokens = -1;
        private long _joinLeaveCounted;

        /// <summary>Takes a token of a bucket of <paramref name="rate"/> per second, as many deep; false when it is empty.</summary>
        public bool TakeJoinLeaveToken(TimeProvider time, int rate)
        {
            var now = time.GetTimestamp();
            _joinLeaveTokens = _joinLeaveTokens < 0
                ? rate
                : Math.Min(rate, _joinLeaveTokens + time.GetElapsedTime(_joinLeaveCounted, now).TotalSeconds * rate);
            _joinLeaveCounted = now;
            if (_joinLeaveTokens < 1)
            {
                return false;
            }
            _joinLeaveTokens--;
            return true;
        }

        public void CancelLinger()
        {
            _linger?.Dispose();
            _linger = null;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Releasing the broker subscription of channel '{Channel}' failed.")]
        public static partial void UnsubscribeFailed(ILogger logger, string channel, Exception exception);

        [LoggerMessage(2, LogLevel.Warning, "Removing a session from the presence of channel '{Channel}' failed.")]
        public static partial void PresenceRemoveFailed(ILogger logger, string channel, Exception exception);
    }
}
