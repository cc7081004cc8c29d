namespace PubSub.Brokers;

/// <summary>Where a <see cref="ChannelStream"/> is in its life; <see cref="StreamTable"/> makes every move.</summary>
internal enum StreamState
{
    /// <summary>Read (a subscriber's starting position) but never published: short-lived, among a few.</summary>
    Empty,

    /// <summary>Published at least once: kept while used, up to the table's cap.</summary>
    Published,

    /// <summary>No longer the channel's stream: whoever holds it must look the channel up again.</summary>
    Evicted,
}

/// <summary>One channel's stream in a <see cref="MemoryBackplane"/>: its epoch and its latest offset.</summary>
internal sealed class ChannelStream(string channel, string epoch, StreamState state)
{
    public string Channel { get; } = channel;

    public string Epoch { get; } = epoch;

    /// <summary>Orders the channel's publications. <see cref="StreamTable"/> takes it under its own lock, never the other way round.</summary>
    public Lock Gate { get; } = new();

    /// <summary>The latest offset; under <see cref="Gate"/>.</summary>
    public long Offset { get; set; }

    /// <summary>
    /// Changed by <see cref="StreamTable"/> only, under its lock; the move to
    /// <see cref="StreamState.Evicted"/> also under <see cref="Gate"/>, so whoever holds the gate
    /// knows for sure whether the stream is still the channel's.
    /// </summary>
    public StreamState State { get; set; } = state;

    // The table's bookkeeping, under its lock: when the stream was last used, and its neighbours
    // in the table's least-recently-used order. Links in the stream itself cost no node per entry.
    internal long LastUsed { get; set; }

    internal ChannelStream? Previous { get; set; }

    internal ChannelStream? Next { get; set; }
}
