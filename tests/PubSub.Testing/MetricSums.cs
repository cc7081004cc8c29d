using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace PubSub.Testing;

public static class MetricSums
{
    /// <summary>The sum of the measurements that carry all of <paramref name="tags"/> (all of them when none is given).</summary>
    public static long Sum(this MetricCollector<long> collector, params (string Key, object? Value)[] tags) =>
        collector.GetMeasurementSnapshot()
            .Where(m => tags.All(t => m.Tags.TryGetValue(t.Key, out var v) && Equals(v, t.Value)))
            .Sum(m => m.Value);
}
