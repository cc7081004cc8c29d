using System.Diagnostics;

namespace PubSub.Bench.Measurement;

/// <summary>
/// Which publications count: those with a sequence number in [<see cref="SeqStart"/>,
/// <see cref="SeqEnd"/>), the ones published during the measurement window. Deliveries of
/// warm-up publications are seen (order, duplicates) but not timed or counted.
/// </summary>
public sealed class RunWindow
{
    private static readonly double TicksPerMicrosecond = Stopwatch.Frequency / 1_000_000.0;

    private long _seqStart = long.MaxValue;
    private long _seqEnd = long.MaxValue;

    public LatencyHistogram Latency { get; } = new();

    public long SeqStart => Volatile.Read(ref _seqStart);

    public long SeqEnd => Volatile.Read(ref _seqEnd);

    public void Open(long seqStart) => Volatile.Write(ref _seqStart, seqStart);

    public void Close(long seqEnd) => Volatile.Write(ref _seqEnd, seqEnd);

    public static long ToMicroseconds(long ticks) => (long)(ticks / TicksPerMicrosecond);
}

/// <summary>
/// What one subscriber received. Each subscriber has one receive loop, the only writer; the
/// scenario reads the counters from another thread while it waits for the drain.
/// </summary>
public sealed class SubscriberStats(RunWindow window)
{
    private long _received;
    private long _windowReceived;
    private long _outOfOrder;
    private long _lastSequence = -1;

    public long Received => Volatile.Read(ref _received);

    public long WindowReceived => Volatile.Read(ref _windowReceived);

    /// <summary>Deliveries whose sequence was not above the last one seen: duplicates or reordering.</summary>
    public long OutOfOrder => Volatile.Read(ref _outOfOrder);

    public void OnDelivery(long sentTimestamp, long sequence, long receivedTimestamp)
    {
        Volatile.Write(ref _received, _received + 1);
        if (sequence <= _lastSequence)
        {
            Volatile.Write(ref _outOfOrder, _outOfOrder + 1);
        }
        else
        {
            _lastSequence = sequence;
        }
        if (sequence >= window.SeqStart && sequence < window.SeqEnd)
        {
            Volatile.Write(ref _windowReceived, _windowReceived + 1);
            window.Latency.Record(RunWindow.ToMicroseconds(receivedTimestamp - sentTimestamp));
        }
    }
}
