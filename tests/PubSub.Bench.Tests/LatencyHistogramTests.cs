using PubSub.Bench.Measurement;

namespace PubSub.Bench.Tests;

public class LatencyHistogramTests
{
    [Fact]
    public void Every_value_lands_in_a_bucket_whose_upper_edge_is_at_most_1_6_percent_above_it()
    {
        var values = Enumerable.Range(0, 200_000).Select(v => (long)v)
            .Concat(Enumerable.Range(0, 46).Select(shift => (1L << shift) + 12345));
        foreach (var value in values)
        {
            var index = LatencyHistogram.IndexOf(value);
            var edge = LatencyHistogram.UpperEdge(index);
            Assert.True(edge >= value, $"{value} landed in bucket {index}, whose upper edge {edge} is below it");
            Assert.True(edge <= value + Math.Max(1, value / 64), $"{value}: bucket edge {edge} is more than 1/64 above it");
            if (index > 0)
            {
                Assert.True(LatencyHistogram.UpperEdge(index - 1) < value, $"{value} should be above the previous bucket's edge");
            }
        }
    }

    [Fact]
    public void Percentiles_of_a_uniform_distribution_are_within_the_bucket_precision_and_never_below_the_truth()
    {
        var histogram = new LatencyHistogram();
        for (var v = 1; v <= 10_000; v++)
        {
            histogram.Record(v);
        }

        Assert.Equal(10_000, histogram.Count);
        Assert.Equal(10_000, histogram.MaxMicroseconds);
        Assert.Equal(5000.5, histogram.MeanMicroseconds, 3);
        foreach (var (percentile, truth) in new[] { (50.0, 5000L), (90.0, 9000L), (99.0, 9900L), (100.0, 10_000L) })
        {
            var reported = histogram.Percentile(percentile);
            Assert.InRange(reported, truth, truth + (truth / 64) + 1);
        }
    }

    [Fact]
    public void An_empty_histogram_reports_zero_and_negative_values_count_as_zero()
    {
        var histogram = new LatencyHistogram();
        Assert.Equal(0, histogram.Percentile(99));

        histogram.Record(-5);
        Assert.Equal(0, histogram.Percentile(50));
        Assert.Equal(0, histogram.MaxMicroseconds);
    }

    [Fact]
    public void One_outlier_is_the_max_and_the_p100_but_not_the_p99()
    {
        var histogram = new LatencyHistogram();
        for (var i = 0; i < 999; i++)
        {
            histogram.Record(100);
        }
        histogram.Record(5_000_000);

        Assert.InRange(histogram.Percentile(99), 100, 101);
        Assert.Equal(5_000_000, histogram.Percentile(100));
        Assert.Equal(5_000_000, histogram.MaxMicroseconds);
    }
}
