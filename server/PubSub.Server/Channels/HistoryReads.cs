namespace PubSub.Channels;

/// <summary>
/// The history reads of subscriptions going live, one broker read per channel at a time: reads of
/// a channel that arrive while one is in flight wait together for the next, which serves them
/// all. When a node dies and its clients all come back to this one, thousands of recoveries of
/// the same channel cost a handful of broker reads instead of one each (docs/architecture.md,
/// "Recovery").
/// </summary>
/// <remarks>
/// A read that joins a waiting batch is answered by a read that starts after it joined, never by
/// one already under way: the caller registered its subscription before asking, so every
/// publication is either in the page or in the subscription's buffer, as with a read of its own.
/// A completed page is kept per channel and answers later reads without the broker while the
/// node has delivered nothing newer than the page's latest (the caller says what it has, read
/// after registering): any publication after the page then still reaches the subscription.
/// Pages are kept for <see cref="KeepFor"/> only, so that a node does not hold a page of history
/// for every channel it ever recovered.
/// </remarks>
internal sealed class HistoryReads(IBroker broker, TimeProvider? time = null)
{
    /// <summary>
    /// How long a completed page answers later reads: a storm's recoveries of one channel come
    /// within seconds of each other; kept longer, the pages would only hold memory.
    /// </summary>
    public static readonly TimeSpan KeepFor = TimeSpan.FromSeconds(10);

    private const int FirstSweep = 64;

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Dictionary<string, ChannelReads> _channels = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RecentRead> _recent = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    // When the kept pages are next swept of expired ones: at twice the count the last sweep left,
    // so sweeping costs amortised O(1) per kept page.
    private int _sweepAt = FirstSweep;

    /// <summary>Broker reads started, for tests and the storm benchmark's accounting.</summary>
    public long BrokerReads => Interlocked.Read(ref _brokerReads);

    private long _brokerReads;

    /// <summary>Reads answered by a kept page instead of the broker.</summary>
    public long Reused => Interlocked.Read(ref _reused);

    private long _reused;

    /// <summary>Pages kept, fresh or not yet swept, for tests.</summary>
    internal int Kept
    {
        get
        {
            lock (_gate)
            {
                return _recent.Count;
            }
        }
    }

    /// <summary>Drops the page kept for a channel the node no longer holds.</summary>
    public void Forget(string channel)
    {
        lock (_gate)
        {
            _recent.Remove(channel);
        }
    }

    /// <summary>Reads waiting for the next broker read of their channel, for tests.</summary>
    internal int Waiting
    {
        get
        {
            lock (_gate)
            {
                return _channels.Values.Sum(c => c.Waiting?.Queries.Count ?? 0);
            }
        }
    }

    /// <param name="delivered">
    /// The position of the last publication of <paramref name="channel"/> this node delivered, read
    /// after the caller's subscription was registered; null when it has delivered none.
    /// </param>
    public async Task<HistoryPage> ReadAsync(string channel, HistoryQuery query, StreamPosition? delivered, CancellationToken cancellationToken)
    {
        Batch batch;
        var startNow = false;
        lock (_gate)
        {
            if (delivered is { } last && _recent.TryGetValue(channel, out var recent) && recent.Page.Latest == last && IsFresh(recent) && recent.Answers(query))
            {
                Interlocked.Increment(ref _reused);
                return Slice(recent.Page, query);
            }
            if (!_channels.TryGetValue(channel, out var reads))
            {
                reads = new ChannelReads();
                _channels.Add(channel, reads);
            }
            if (reads.InFlight is null)
            {
                batch = reads.InFlight = new Batch();
                startNow = true;
            }
            else
            {
                batch = reads.Waiting ??= new Batch();
            }
            batch.Queries.Add(query);
        }
        if (startNow)
        {
            Start(channel, batch);
        }
        var page = await batch.Page.Task.WaitAsync(cancellationToken);
        return batch.Queries.Count == 1 ? page : Slice(page, query);
    }

    private void Start(string channel, Batch batch)
    {
        Interlocked.Increment(ref _brokerReads);
        _ = RunAsync(channel, batch);
    }

    private async Task RunAsync(string channel, Batch batch)
    {
        try
        {
            // Not the callers' tokens: one caller giving up must not fail the others' read.
            var query = batch.Query();
            var page = await broker.ReadHistoryAsync(channel, query, CancellationToken.None);
            lock (_gate)
            {
                _recent[channel] = new RecentRead(query, page, _time.GetTimestamp());
                if (_recent.Count >= _sweepAt)
                {
                    SweepLocked();
                }
            }
            batch.Page.TrySetResult(page);
        }
        catch (Exception e)
        {
            batch.Page.TrySetException(e);
        }
        Batch? next;
        lock (_gate)
        {
            var reads = _channels[channel];
            next = reads.InFlight = reads.Waiting;
            reads.Waiting = null;
            if (next is null)
            {
                _channels.Remove(channel);
            }
        }
        if (next is not null)
        {
            Start(channel, next);
        }
    }

    /// <summary>What one query of a shared read would have read on its own.</summary>
    internal static HistoryPage Slice(HistoryPage page, HistoryQuery query)
    {
        if (query.Limit <= 0)
        {
            return page with { Publications = [] };
        }
        IEnumerable<Publication> publications = page.Publications;
        if (query.SinceOffset is { } since)
        {
            return page with { Publications = publications.Where(p => p.Offset > since).Take(query.Limit).ToList() };
        }
        return page with { Publications = publications.Skip(Math.Max(0, page.Publications.Count - query.Limit)).ToList() };
    }

    private bool IsFresh(RecentRead recent) => _time.GetElapsedTime(recent.KeptAt) < KeepFor;

    private void SweepLocked()
    {
        foreach (var (channel, recent) in _recent)
        {
            if (!IsFresh(recent))
            {
                _recent.Remove(channel);
            }
        }
        _sweepAt = Math.Max(FirstSweep, _recent.Count * 2);
    }

    /// <summary>A completed read, the query it was read with (which says what it can answer), and when it completed.</summary>
    private sealed record RecentRead(HistoryQuery Read, HistoryPage Page, long KeptAt)
    {
        /// <summary>
        /// Every query wants the latest position. One with publications needs either a page of the
        /// newest entries at least as long as its limit, or a page read from a position at or
        /// before its own that reached the latest: that page holds every retained entry after it.
        /// </summary>
        public bool Answers(HistoryQuery query)
        {
            if (query.Limit <= 0)
            {
                return true;
            }
            if (Read.SinceOffset is not { } readFrom)
            {
                return query.Limit <= Read.Limit;
            }
            var reachedLatest = Page.Publications.Count == 0 || Page.Publications[^1].Offset == Page.Latest.Offset;
            return query.SinceOffset is { } since && since >= readFrom && reachedLatest;
        }
    }

    private sealed class ChannelReads
    {
        public Batch? InFlight;
        public Batch? Waiting;
    }

    private sealed class Batch
    {
        /// <summary>Fixed once the batch starts: queries join only a batch that is waiting.</summary>
        public List<HistoryQuery> Queries { get; } = [];

        public TaskCompletionSource<HistoryPage> Page { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>
        /// One query alone is read as asked. Several are read as the newest entries, as many as
        /// the largest limit: history keeps at most that many, so that page holds everything
        /// after any position history can still cover, and each query takes its part.
        /// </summary>
        public HistoryQuery Query()
        {
            if (Queries.Count == 1)
            {
                return Queries[0];
            }
            var limit = Queries.Max(q => q.Limit);
            return new HistoryQuery(null, limit);
        }
    }
}
