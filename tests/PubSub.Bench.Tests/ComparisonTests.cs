using PubSub.Bench.Results;

namespace PubSub.Bench.Tests;

public class ComparisonTests
{
    private static RunResult Run(string target, double rate, double p99, bool sustained, double cpu) => new()
    {
        Delivered = (long)(rate * 1000),
        Scenario = "fanout", Target = target, Transport = "ws", Subscribers = 1000, Channels = 1, PayloadBytes = 100,
        OfferedRate = rate, DeliveriesPerSecond = rate * 1000, P50Ms = p99 / 2, P99Ms = p99, Sustained = sustained,
        ServerCpuUsPerDelivery = cpu,
    };

    [Fact]
    public void Results_written_to_csv_read_back_and_pair_by_run_shape_with_ratios_and_the_sweep_summary()
    {
        var path = Path.Combine(Path.GetTempPath(), $"bench-{Guid.NewGuid():N}.csv");
        try
        {
            var runs = new[]
            {
                Run("pubsub", 100, 4, true, 2), Run("signalr", 100, 8, true, 4),
                Run("pubsub", 200, 10, true, 2), Run("signalr", 200, 150, false, 4),
                Run("pubsub", 300, 300, false, 2), Run("signalr", 300, 400, false, 4),
            };
            foreach (var run in runs)
            {
                ResultFiles.Append(run, path, jsonPath: null);
            }
            runs[0].Note = "a note, with \"quotes\"";
            ResultFiles.Append(runs[0], path, jsonPath: null);

            var rows = ResultFiles.ReadCsv(path);
            Assert.Equal(7, rows.Count);
            Assert.Equal("a note, with \"quotes\"", rows[^1]["note"]);

            var text = Comparison.Render(rows);
            // 100/s: p99 4 vs 8, cpu 2 vs 4.
            Assert.Contains("| fanout | ws | 1 | 1000 | 1 | 100 | 100 | 100000 | 100000 | 1.00x | 2.00 | 4.00 | 4.00 | 8.00 | 0.50x | 2.00 | 4.00 | 0.50x |", text, StringComparison.Ordinal);
            // Highest sustained: pubsub 200, signalr 100; both sustained only at 100, where pubsub's p99 is lower.
            Assert.Contains("| fanout ws nodes=1 subs=1000 ch=1 100B | 200 | 100 | 2.00x | yes (1 rates) |", text, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_shape_only_the_raw_reference_ran_is_left_out_and_the_others_still_pair()
    {
        var rows = new[] { Run("raw", 100, 3, true, 1), Run("pubsub", 200, 10, true, 2), Run("signalr", 200, 20, true, 4) }
            .Select(r => RunResult.Columns.ToDictionary(c => c.Name, c => Convert.ToString(c.Get(r), System.Globalization.CultureInfo.InvariantCulture) ?? ""))
            .ToList();

        var text = Comparison.Render(rows);

        Assert.Contains("| fanout | ws | 1 | 1000 | 1 | 100 | 200 | 200000 | 200000 | 1.00x |", text, StringComparison.Ordinal);
        Assert.DoesNotContain("| 100 | 100000 |", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Cross_node_runs_are_set_against_the_one_node_memory_broker_run_of_the_same_load()
    {
        var rows = new[] { ("crossnode/1-node-memory", 1, 200000.0, 2.0), ("crossnode/1-node-redis", 1, 190000.0, 2.5), ("crossnode/2-nodes-redis", 2, 150000.0, 3.5) }
            .Select(r => new RunResult
            {
                Label = r.Item1, Scenario = "crossnode", Target = "pubsub", Transport = "ws", Nodes = r.Item2, Subscribers = 1000,
                Channels = 1, PayloadBytes = 100, OfferedRate = 200, DeliveriesPerSecond = r.Item3, P50Ms = r.Item4, P99Ms = 9, Sustained = true,
            })
            .Select(r => RunResult.Columns.ToDictionary(c => c.Name, c => Convert.ToString(c.Get(r), System.Globalization.CultureInfo.InvariantCulture) ?? ""))
            .ToList();

        var text = Comparison.Render(rows);

        Assert.Contains("| crossnode/2-nodes-redis | 2 | 1000 | 200 | 150000 | 0.75x | 3.50 | 1.50 | 9.00 |", text, StringComparison.Ordinal);
        Assert.Contains("| crossnode/1-node-redis | 1 | 1000 | 200 | 190000 | 0.95x | 2.50 | 0.50 |", text, StringComparison.Ordinal);
        Assert.DoesNotContain("| crossnode | ws |", text, StringComparison.Ordinal);
    }

    [Fact]
    public void The_plot_is_an_svg_with_a_line_per_target_and_percentile()
    {
        var rows = new[] { Run("pubsub", 100, 4, true, 2), Run("pubsub", 200, 10, true, 2), Run("signalr", 100, 8, true, 4), Run("signalr", 200, 150, false, 4) }
            .Select(r => RunResult.Columns.ToDictionary(c => c.Name, c => Convert.ToString(c.Get(r), System.Globalization.CultureInfo.InvariantCulture) ?? ""))
            .ToList();

        rows.Add(RunResult.Columns.ToDictionary(c => c.Name, c => Convert.ToString(c.Get(Run("signalr", 400, 0, false, 4)), System.Globalization.CultureInfo.InvariantCulture) ?? ""));
        rows[^1]["delivered"] = "0";

        var svg = SvgPlot.Render(rows, "t");

        Assert.StartsWith("<svg", svg, StringComparison.Ordinal);
        Assert.Equal(4, svg.Split("<path").Length - 1);
        Assert.Contains("fill=\"white\" stroke=\"#d62728\"", svg, StringComparison.Ordinal);
        // The run that delivered nothing is not drawn: each target has two rates, so four points per line pair.
        Assert.Equal(8, svg.Split("<circle").Length - 1);
        System.Xml.Linq.XDocument.Parse(svg);
    }
}
