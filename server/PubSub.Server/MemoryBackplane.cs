using System.Collections.Concurrent;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Internal;
using PubSub.Brokers;

namespace PubSub;

/// <summary>
/// The state that in-memory brokers share: channel streams and history (in a
/// <see cref="MemoryCache"/>), which nodes want which channels, and which nodes are alive. Each
/// node gets one by default. Share one between several nodes in one process to test scale-out
/// behaviour (forwarding, cross-node fan-out) without Redis:
/// <c>services.AddPubSub().AddMemoryBroker(sharedBackplane)</c>.
/// </summary>
public sealed class MemoryBackplane : IDisposable
{
    /// <summary>How long a channel's epoch and offset are kept after its last publication or read. Default 24 h.</summary>
    public static readonly TimeSpan DefaultStreamIdleTimeout = TimeSpan.FromHours(24);

    private readonly MemoryCache _cache;
    private readonly TimeProvider _time;
    private readonly TimeSpan _streamIdleTimeout;
    private readonly Lock _createGate = new();
    private readonly ConcurrentDictionary<string, MemoryBroker> _nodes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, MemoryBroker[]> _interest = new(StringComparer.Ordinal);
    private readonly Lock _interestGate = new();

    public MemoryBackplane()
        : this(TimeProvider.System)
    {
    }

    /// <param name="time">The clock for history TTLs and stream expiry.</param>
    /// <param name="streamIdleTimeout">How long an idle channel keeps its epoch and offset; after that it starts a new epoch.</param>
    public MemoryBackplane(TimeProvider time, TimeSpan? streamIdleTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        _streamIdleTimeout = streamIdleTimeout ?? DefaultStreamIdleTimeout;
        _cache = new MemoryCache(new MemoryCacheOptions { Clock = new Clock(time) });
    }

    public void Dispose() => _cache.Dispose();

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

    internal StreamPosition Publish(string channel, Payload data, HistoryOptions history)
    {
        while (true)
        {
            var stream = GetOrCreateStream(channel);
            lock (stream.Gate)
            {
                if (stream.Evicted)
                {
                    continue;
                }
                var publication = new Publication(channel, ++stream.Offset, stream.Epoch, data);
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
            var stream = GetOrCreateStream(channel);
            lock (stream.Gate)
            {
                if (stream.Evicted)
                {
                    continue;
                }
                var latest = new StreamPosition(stream.Offset, stream.Epoch);
                if (query.Limit <= 0 || !_cache.TryGetValue(new HistoryKey(channel), out HistoryBuffer? buffer) || buffer!.Stream != stream)
                {
                    return new HistoryPage(latest, []);
                }
                buffer.Prune(_time.GetUtcNow());
                return new HistoryPage(latest, buffer.Read(query));
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

    private ChannelStream GetOrCreateStream(string channel)
    {
        if (_cache.TryGetValue(channel, out ChannelStream? stream))
        {
            return stream!;
        }
        lock (_createGate)
        {
            if (_cache.TryGetValue(channel, out stream))
            {
                return stream!;
            }
            stream = new ChannelStream(Ids.NewEpoch());
            var options = new MemoryCacheEntryOptions { SlidingExpiration = _streamIdleTimeout };
            options.RegisterPostEvictionCallback(static (_, value, _, _) => ((ChannelStream)value!).MarkEvicted());
            _cache.Set(channel, stream, options);
            return stream;
        }
    }

    private void AppendHistory(ChannelStream stream, Publication publication, HistoryOptions history)
    {
        var now = _time.GetUtcNow();
        var key = new HistoryKey(publication.Channel);
        if (!_cache.TryGetValue(key, out HistoryBuffer? buffer) || buffer!.Stream != stream)
        {
            buffer = new HistoryBuffer(stream);
        }
        buffer.Append(publication, now + history.Ttl, history.Size);
        buffer.Prune(now);
        // The buffer expires with its newest publication, so an idle channel's history frees itself.
        _cache.Set(key, buffer, now + history.Ttl);
    }

    private sealed record HistoryKey(string Channel);

    private sealed class ChannelStream(string epoch)
    {
        public Lock Gate { get; } = new();

        public string Epoch { get; } = epoch;

        public long Offset { get; set; }

        public bool Evicted { get; private set; }

        public void MarkEvicted()
        {
            lock (Gate)
            {
                Evicted = true;
            }
        }
    }

    private sealed class HistoryBuffer(ChannelStream stream)
    {
        private readonly Queue<(Publication Publication, DateTimeOffset ExpiresAt)> _entries = new();

        public ChannelStream Stream { get; } = stream;

        public void Append(Publication publication, DateTimeOffset expiresAt, int size)
        {
            _entries.Enqueue((publication, expiresAt));
            while (_entries.Count > size)
            {
                _entries.Dequeue();
            }
        }

        public void Prune(DateTimeOffset now)
        {
            while (_entries.TryPeek(out var oldest) && oldest.ExpiresAt <= now)
            {
                _entries.Dequeue();
            }
        }

        public List<Publication> Read(HistoryQuery query)
        {
            var retained = _entries.Select(e => e.Publication);
            if (query.SinceOffset is { } since)
            {
                return retained.Where(p => p.Offset > since).Take(query.Limit).ToList();
            }
            return retained.Skip(Math.Max(0, _entries.Count - query.Limit)).ToList();
        }
    }

#pragma warning disable CS0618 // MemoryCacheOptions.Clock still takes ISystemClock; this adapts the TimeProvider to it.
    private sealed class Clock(TimeProvider time) : ISystemClock
    {
        public DateTimeOffset UtcNow => time.GetUtcNow();
    }
#pragma warning restore CS0618
}
