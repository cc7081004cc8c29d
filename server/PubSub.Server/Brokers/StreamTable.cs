namespace PubSub.Brokers;

/// <summary>
/// The channel streams of a <see cref="MemoryBackplane"/>, in two bounded tables. A stream that
/// has only been read is <see cref="StreamState.Empty"/>: it exists so that a first subscriber
/// gets a position the next publication continues, and lives among at most a few for a short
/// idle time. Its first publication makes it <see cref="StreamState.Published"/>, with the same
/// epoch, among at most many for a long idle time. Each table drops its least recently used
/// stream when it is full, and any stream idle for its timeout; the channel then starts a new
/// epoch, which live subscribers adopt and a returning client sees as <c>recovered: false</c>.
/// </summary>
/// <remarks>
/// So reading names no one publishes to (an attack, or a typo in a loop) costs at most
/// <c>maxEmpty</c> small entries, never a stream kept for a day. One lock guards both tables.
/// Evicting takes the stream's gate under it: a publish that holds the gate finishes before its
/// stream goes, and one that takes the gate later sees <see cref="StreamState.Evicted"/> and looks
/// the channel up again, so a channel never has two streams delivering at once.
/// </remarks>
internal sealed class StreamTable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, ChannelStream> _streams = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly RecencyList _empty;
    private readonly RecencyList _published;
    private readonly Action<ChannelStream> _evicted;

    /// <param name="evicted">Called, under the table's lock, for each stream that leaves it.</param>
    public StreamTable(TimeProvider time, int maxPublished, TimeSpan publishedIdleTimeout, int maxEmpty, TimeSpan emptyIdleTimeout, Action<ChannelStream> evicted)
    {
        _time = time;
        _published = new RecencyList(maxPublished, publishedIdleTimeout);
        _empty = new RecencyList(maxEmpty, emptyIdleTimeout);
        _evicted = evicted;
    }

    /// <summary>How many streams the table holds in each state, for tests.</summary>
    internal (int Empty, int Published) Count
    {
        get
        {
            lock (_gate)
            {
                EvictExpired(_time.GetTimestamp());
                return (_empty.Count, _published.Count);
            }
        }
    }

    /// <summary>The channel's stream to read, or a new empty one.</summary>
    public ChannelStream ForRead(string channel) => Get(channel, publishing: false);

    /// <summary>The channel's stream to publish to: an empty one becomes published, keeping its epoch.</summary>
    public ChannelStream ForPublish(string channel) => Get(channel, publishing: true);

    private ChannelStream Get(string channel, bool publishing)
    {
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            EvictExpired(now);
            if (_streams.TryGetValue(channel, out var stream))
            {
                var list = ListOf(stream);
                list.Remove(stream);
                if (publishing && stream.State == StreamState.Empty)
                {
                    // Same object, same epoch: the position its subscribers started from continues.
                    stream.State = StreamState.Published;
                    list = _published;
                }
                list.Add(stream, now);
                EvictOverflow(list);
                return stream;
            }
            stream = new ChannelStream(channel, Ids.NewEpoch(), publishing ? StreamState.Published : StreamState.Empty);
            _streams.Add(channel, stream);
            var into = ListOf(stream);
            into.Add(stream, now);
            EvictOverflow(into);
            return stream;
        }
    }

    private RecencyList ListOf(ChannelStream stream) => stream.State == StreamState.Empty ? _empty : _published;

    // The oldest stream of each list is the least recently used: when it has not expired, no other has.
    private void EvictExpired(long now)
    {
        foreach (var list in (ReadOnlySpan<RecencyList>)[_empty, _published])
        {
            while (list.Oldest is { } oldest && _time.GetElapsedTime(oldest.LastUsed, now) >= list.IdleTimeout)
            {
                Evict(list, oldest);
            }
        }
    }

    private void EvictOverflow(RecencyList list)
    {
        while (list.Count > list.Capacity)
        {
            Evict(list, list.Oldest!);
        }
    }

    private void Evict(RecencyList list, ChannelStream stream)
    {
        list.Remove(stream);
        _streams.Remove(stream.Channel);
        lock (stream.Gate)
        {
            stream.State = StreamState.Evicted;
        }
        _evicted(stream);
    }

    /// <summary>Streams of one state, least recently used first, linked through the streams themselves.</summary>
    private sealed class RecencyList(int capacity, TimeSpan idleTimeout)
    {
        private ChannelStream? _newest;

        public int Capacity { get; } = capacity;

        public TimeSpan IdleTimeout { get; } = idleTimeout;

        public int Count { get; private set; }

        public ChannelStream? Oldest { get; private set; }

        public void Add(ChannelStream stream, long now)
        {
            stream.LastUsed = now;
            stream.Previous = _newest;
            stream.Next = null;
            if (_newest is null)
            {
                Oldest = stream;
            }
            else
            {
                _newest.Next = stream;
            }
            _newest = stream;
            Count++;
        }

        public void Remove(ChannelStream stream)
        {
            if (stream.Previous is null)
            {
                Oldest = stream.Next;
            }
            else
            {
                stream.Previous.Next = stream.Next;
            }
            if (stream.Next is null)
            {
                _newest = stream.Previous;
            }
            else
            {
                stream.Next.Previous = stream.Previous;
            }
            stream.Previous = null;
            stream.Next = null;
            Count--;
        }
    }
}
