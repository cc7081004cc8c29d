using System.Collections.Concurrent;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Internal;
using PubSub.Brokers;

namespace PubSub;

/// <summary>
/// The state that in-memory brokers share: channel streams and history, which nodes want which
/// channels, and which nodes are alive. Each node gets one by default. Share one between several
/// nodes in one process to test scale-out behaviour (forwarding, cross-node fan-out) without
/// Redis: <c>services.AddPubSub().AddMemoryBroker(sharedBackplane)</c>.
/// </summary>
/// <remarks>
/// Streams are bounded in number and in time, so that no sequence of requests grows a node
/// without limit. A channel that has only been read (subscribed to, or its history asked for)
/// gets an empty stream, so that its first subscribers get a position that the next publication
/// continues; at most <see cref="DefaultMaxEmptyStreams"/> of those are kept, each for
/// <see cref="DefaultEmptyStreamIdleTimeout"/> after its last read. The first publication makes it
/// a real stream, with the same epoch, kept for <see cref="DefaultStreamIdleTimeout"/> after its
/// last use, and at most <see cref="DefaultMaxStreams"/> of those. Beyond either cap the least
/// recently used stream goes. A channel whose stream went starts a new epoch: subscribers adopt
/// it live, and a client that comes back with a position in the old one gets <c>recovered: false</c>.
/// </remarks>
public sealed class MemoryBackplane : IDisposable
{
    /// <summary>How long a channel's epoch and offset are kept after its last publication or read. Default 24 h.</summary>
    public static readonly TimeSpan DefaultStreamIdleTimeout = TimeSpan.FromHours(24);

    /// <summary>
    /// How many published channels keep their stream, default 100,000. A stream costs about 200 B
    /// plus its name (measured), beside its history, which its channel's size and TTL bound: some
    /// 30 MB for names of 30 characters, 75 MB at the 255-character limit. That covers a channel
    /// per user of a large single node; beyond it only the channels idle the longest lose their epoch.
    /// </summary>
    public const int DefaultMaxStreams = 100_000;

    /// <summary>
    /// How many channels that were read but never published keep their (empty) stream, default
    /// 10,000: about 2.5 MB for names of 30 characters (7.5 MB at the limit), however many names
    /// clients ask for.
    /// </summary>
    public const int DefaultMaxEmptyStreams = 10_000;

    /// <summary>
    /// How long an empty stream is kept after its last read, default 5 min: long enough for a
    /// first subscriber's reconnect or the first publication to find it, short enough that names
    /// read in passing leave nothing behind for long.
    /// </summary>
    public static readonly TimeSpan DefaultEmptyStreamIdleTimeout = TimeSpan.FromMinutes(5);

    private readonly MemoryCache _history;

    // Idempotency keys, (channel, key) to the first publish's position, each expiring with its window.
    private readonly MemoryCache _published;
    private readonly TimeProvider _time;
    private readonly StreamTable _streams;
    private readonly ConcurrentDictionary<string, MemoryBroker> _nodes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, MemoryBroker[]> _interest = new(StringComparer.Ordinal);
    private readonly Lock _interestGate = new();
    private readonly PresenceTable _presence = new();

    /// <summary>A backplane on the system clock, with the default bounds.</summary>
    public MemoryBackplane()
        : this(TimeProvider.System)
    {
    }

    /// <param name="time">The clock for history TTLs and stream expiry.</param>
    /// <param name="streamIdleTimeout">How long a published channel keeps its epoch and offset after its last use; after that it starts a new epoch. Default <see cref="DefaultStreamIdleTimeout"/>.</param>
    /// <param name="maxStreams">How many published channels keep their stream; beyond it the least recently used starts a new epoch. Default <see cref="DefaultMaxStreams"/>.</param>
    /// <param name="maxEmptyStreams">How many channels that were read but never published keep their empty stream. Default <see cref="DefaultMaxEmptyStreams"/>.</param>
    /// <param name="emptyStreamIdleTimeout">How long such an empty stream is kept after its last read; at most <paramref name="streamIdleTimeout"/>. Default <see cref="DefaultEmptyStreamIdleTimeout"/>.</param>
    public MemoryBackplane(
        TimeProvider time,
        TimeSpan? streamIdleTimeout = null,
        int maxStreams = DefaultMaxStreams,
        int maxEmptyStreams = DefaultMaxEmptyStreams,
        TimeSpan? emptyStreamIdleTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxStreams);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxEmptyStreams);
        var idle = streamIdleTimeout ?? DefaultStreamIdleTimeout;
        var emptyIdle = emptyStreamIdleTimeout ?? DefaultEmptyStreamIdleTimeout;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(idle, TimeSpan.Zero, nameof(streamIdleTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(emptyIdle, TimeSpan.Zero, nameof(emptyStreamIdleTimeout));
        // A channel no one published to never outlives one in use.
        emptyIdle = TimeSpan.FromTicks(Math.Min(emptyIdle.Ticks, idle.Ticks));
        _time = time;
        _history = new MemoryCache(new MemoryCacheOptions { Clock = new Clock(time) });
        _published = new MemoryCache(new MemoryCacheOptions { Clock = new Clock(time) });
        _streams = new StreamTable(time, maxStreams, idle, maxEmptyStreams, emptyIdle, OnEvicted);
    }

    /// <summary>How many empty and published streams the backplane holds, for tests.</summary>
    internal (int Empty, int Published) StreamCount => _streams.Count;

    /// <summary>Frees the history it holds.</summary>
    public void Dispose()
    {
        _history.Dispose();
        _published.Dispose();
    }

    /// <summary>The nodes attached now.</summary>
    internal IReadOnlyList<string> Nodes => [.. _nodes.Keys];

    internal void Attach(string nodeId, MemoryBroker broker)
    {
        if (!_nodes.TryAdd(nodeId, broker))
        {
            throw new InvalidOperationException($"A node with id '{nodeId}' is already attached to this backplane.");
        }
    }

    internal void Detach(string nodeId, MemoryBroker broker)
    {
        _nodes.TryRemove(new KeyValuePair<string, MemoryBroker>(nodeId, broker));
        // Its members' leaves still reach the nodes that want the channel, this one not among them.
        _presence.RemoveNode(nodeId, presence => DeliverPresence(presence, except: broker));
        lock (_interestGate)
        {
            foreach (var (channel, brokers) in _interest)
            {
                if (brokers.Contains(broker))
                {
                    SetInterest(channel, brokers.Where(b => b != broker).ToArray());
                }
            }
        }
    }

    internal void Subscribe(string channel, MemoryBroker broker)
    {
        lock (_interestGate)
        {
            var brokers = _interest.GetValueOrDefault(channel, []);
            if (!brokers.Contains(broker))
            {
                SetInterest(channel, [.. brokers, broker]);
            }
        }
    }

    internal void Unsubscribe(string channel, MemoryBroker broker)
    {
        lock (_interestGate)
        {
            if (_interest.TryGetValue(channel, out var brokers))
            {
                SetInterest(channel, brokers.Where(b => b != broker).ToArray());
            }
        }
    }

    internal StreamPosition Publish(string channel, Payload data, HistoryOptions history, IdempotencyKey? idempotency)
    {
        // The key is looked up and stored under the stream's lock, so of two racing publishes with
        // one key, exactly one is published.
        while (true)
        {
            var stream = _streams.ForPublish(channel);
            lock (stream.Gate)
            {
                if (stream.State == StreamState.Evicted)
                {
                    continue;
                }
                if (idempotency is { } once && _published.TryGetValue((channel, once.Key), out StreamPosition first))
                {
                    return first;
                }
                var publication = new Publication(channel, ++stream.Offset, stream.Epoch, data);
                if (idempotency is { } key)
                {
                    _published.Set((channel, key.Key), publication.Position, _time.GetUtcNow() + key.Window);
                }
                if (history.IsEnabled)
                {
                    AppendHistory(stream, publication, history);
                }
                // Delivered under the stream's lock: that is what keeps every node's view of the
                // channel in offset order. Handlers only queue frames, they never block.
                foreach (var broker in _interest.GetValueOrDefault(channel, []))
                {
                    broker.Deliver(publication);
                }
                return publication.Position;
            }
        }
    }

    internal HistoryPage ReadHistory(string channel, HistoryQuery query)
    {
        while (true)
        {
            var stream = _streams.ForRead(channel);
            lock (stream.Gate)
            {
                if (stream.State == StreamState.Evicted)
                {
                    continue;
                }
                var latest = new StreamPosition(stream.Offset, stream.Epoch);
                if (query.Limit <= 0 || !_history.TryGetValue(channel, out HistoryBuffer? buffer) || buffer!.Stream != stream)
                {
                    return new HistoryPage(latest, []);
                }
                buffer.Prune(_time.GetUtcNow());
                return new HistoryPage(latest, buffer.Read(query));
            }
        }
    }

    internal void AddPresence(string channel, string nodeId, PresenceMember member, bool announce) =>
        _presence.Add(channel, nodeId, member, announce, presence => DeliverPresence(presence, except: null));

    internal void RemovePresence(string channel, string session, bool announce) =>
        _presence.Remove(channel, session, announce, presence => DeliverPresence(presence, except: null));

    internal PresencePage ReadPresence(string channel, int limit) => _presence.Read(channel, limit);

    internal PresenceStats ReadPresenceStats(string channel) => _presence.Stats(channel);

    private void DeliverPresence(PresenceEvent presence, MemoryBroker? except)
    {
        foreach (var broker in _interest.GetValueOrDefault(presence.Channel, []))
        {
            if (broker != except)
            {
                broker.DeliverPresence(presence);
            }
        }
    }

    internal bool SendToNode(string nodeId, ReadOnlyMemory<byte> message)
    {
        if (!_nodes.TryGetValue(nodeId, out var broker))
        {
            return false;
        }
        // Delivered on another thread, as a message from a real bus would be: the sender must
        // never run the receiver's handler inline.
        var copy = message.ToArray();
        ThreadPool.UnsafeQueueUserWorkItem(static state => state.broker.DeliverNodeMessage(state.copy), (broker, copy), preferLocal: false);
        return true;
    }

    private void SetInterest(string channel, MemoryBroker[] brokers)
    {
        if (brokers.Length == 0)
        {
            _interest.TryRemove(channel, out _);
        }
        else
        {
            _interest[channel] = brokers;
        }
    }

    // Under the stream table's lock: the channel has no stream now, so its history is of no use.
    private void OnEvicted(ChannelStream stream)
    {
        if (_history.TryGetValue(stream.Channel, out HistoryBuffer? buffer) && buffer!.Stream == stream)
        {
            _history.Remove(stream.Channel);
        }
    }

    private void AppendHistory(ChannelStream stream, Publication publication, HistoryOptions history)
    {
        var now = _time.GetUtcNow();
        var key = publication.Channel;
        if (!_history.TryGetValue(key, out HistoryBuffer? buffer) || buffer!.Stream != stream)
        {
            buffer = new HistoryBuffer(stream);
        }
        var expiresAt = now + history.Ttl;
        buffer.Append(publication, expiresAt, history.Size);
        buffer.Prune(now);
        // The buffer expires after its newest publication, so an idle channel's history frees
        // itself. Setting the cache entry makes a new one, so it is set with a tenth of the TTL to
        // spare and again only when a publication outlives that: once per 30 s for a 5 min TTL
        // rather than once per publication; an idle channel's buffer lingers at most that tenth.
        if (expiresAt > buffer.KeptUntil)
        {
            buffer.KeptUntil = expiresAt + history.Ttl / 10;
            _history.Set(key, buffer, buffer.KeptUntil);
        }
    }

    private sealed class HistoryBuffer(ChannelStream stream)
    {
        private readonly HistoryRing _ring = new();

        public ChannelStream Stream { get; } = stream;

        /// <summary>When the cache entry holding this buffer expires.</summary>
        public DateTimeOffset KeptUntil { get; set; } = DateTimeOffset.MinValue;

        public void Append(Publication publication, DateTimeOffset expiresAt, int size) =>
            _ring.Append(publication.Offset, publication.Data, expiresAt, size);

        public void Prune(DateTimeOffset now) => _ring.Prune(now);

        public List<Publication> Read(HistoryQuery query) => _ring.Read(query, Stream.Channel, Stream.Epoch);
    }

#pragma warning disable CS0618 // MemoryCacheOptions.Clock still takes ISystemClock; this adapts the TimeProvider to it.
    private sealed class Clock(TimeProvider time) : ISystemClock
    {
        public DateTimeOffset UtcNow => time.GetUtcNow();
    }
#pragma warning restore CS0618
}
