using System.Numerics;

namespace PubSub.Bench.Measurement;

/// <summary>
/// A log-linear histogram of latencies in microseconds, laid out as HdrHistogram is, with 64
/// sub-buckets per power of two: every value lands in a bucket whose upper edge is within 1/64 of
/// it, recording is one array increment, and any thread may record. Values from 2^47 µs (years)
/// up share the last bucket.
/// </summary>
public sealed class LatencyHistogram
{
    private const int SubBuckets = 64;
    private const int LinearLimit = 2 * SubBuckets;
    private const int MaxShift = 40;

    private readonly long[] _counts = new long[LinearLimit + (MaxShift * SubBuckets)];
    private long _count;
    private long _max;
    private long _sum;

    public long Count => Volatile.Read(ref _count);

    public long MaxMicroseconds => Volatile.Read(ref _max);

    public double MeanMicroseconds => Count == 0 ? 0 : (double)Volatile.Read(ref _sum) / Count;

    public void Record(long microseconds)
    {
        if (microseconds < 0)
        {
            microseconds = 0;
        }
        Interlocked.Increment(ref _counts[IndexOf(microseconds)]);
        Interlocked.Increment(ref _count);
        Interlocked.Add(ref _sum, microseconds);
        var max = Volatile.Read(ref _max);
        while (microseconds > max)
        {
            var seen = Interlocked.CompareExchange(ref _max, microseconds, max);
            if (seen == max)
            {
                break;
            }
            max = seen;
        }
    }

    /// <summary>
    /// The value at <paramref name="percentile"/> (0–100): the upper edge of the bucket holding it,
    /// so a reported p99 is never below the true one; 0 when nothing was recorded.
    /// </summary>
    public long Percentile(double percentile)
    {
        var total = Count;
        if (total == 0)
        {
            return 0;
        }
        var rank = (long)Math.Ceiling(percentile / 100.0 * total);
        rank = Math.Clamp(rank, 1, total);
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += Volatile.Read(ref _counts[i]);
            if (seen >= rank)
            {
                return Math.Min(UpperEdge(i), MaxMicroseconds);
            }
        }
        return MaxMicroseconds;
    }

    internal static int IndexOf(long value)
    {
        if (value < LinearLimit)
        {
            return (int)value;
        }
        var msb = 63 - BitOperations.LeadingZeroCount((ulong)value);
        var shift = Math.Min(msb - 6, MaxShift);
        var top = Math.Min(value >> shift, (2 * SubBuckets) - 1);
        return LinearLimit + ((shift - 1) * SubBuckets) + (int)(top - SubBuckets);
    }

    /// <summary>The largest value that lands in bucket <paramref name="index"/>.</summary>
    internal static long UpperEdge(int index)
    {
        if (index < LinearLimit)
        {
            return index;
        }
        var shift = ((index - LinearLimit) / SubBuckets) + 1;
        var top = ((index - LinearLimit) % SubBuckets) + SubBuckets;
        return ((top + 1L) << shift) - 1;
    }
}
