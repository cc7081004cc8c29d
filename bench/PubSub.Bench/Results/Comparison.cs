using System.Globalization;
using System.Text;

namespace PubSub.Bench.Results;

/// <summary>
/// Pairs PubSub's and SignalR's results of the same run shape and prints the ratios as Markdown
/// tables (for docs/benchmarks.md): delivery runs, idle runs, and, for rate sweeps, the highest
/// rate each sustained.
/// </summary>
public static class Comparison
{
    private const string Ours = "pubsub";
    private const string Reference = "signalr";

    private static readonly string[] ShapeColumns = ["scenario", "transport", "nodes", "subscribers", "channels", "publishers", "payload_bytes", "offered_rate", "connections"];

    public static string Render(IReadOnlyList<Dictionary<string, string>> rows)
    {
        var text = new StringBuilder();
        // The last row of each shape and target wins: a re-run replaces an earlier one.
        var latest = rows
            .GroupBy(r => (Shape: Shape(r), Target: r["target"]))
            .ToDictionary(g => g.Key, g => g.Last());
        // Shapes only the raw reference ran (bench/RawReference) have nothing to pair here.
        var shapes = latest.Keys.Where(k => k.Target is Ours or Reference).Select(k => k.Shape).Distinct().ToList();

        var delivery = shapes.Where(s => !IsIdle(s) && !IsCrossNode(s)).ToList();
        if (delivery.Count > 0)
        {
            text.AppendLine("| scenario | transport | nodes | subs | channels | bytes | rate/s | deliveries/s pubsub | signalr | ratio | p50 ms pubsub | signalr | p99 ms pubsub | signalr | p99 ratio | cpu µs/delivery pubsub | signalr | ratio | alloc B/delivery pubsub | signalr | sustained pubsub/signalr |");
            text.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
            foreach (var shape in delivery)
            {
                var ours = latest.GetValueOrDefault((shape, Ours));
                var reference = latest.GetValueOrDefault((shape, Reference));
                var any = ours ?? reference!;
                text.Append(CultureInfo.InvariantCulture,
                    $"| {any["scenario"]} | {any["transport"]} | {any["nodes"]} | {any["subscribers"]} | {any["channels"]} | {any["payload_bytes"]} | {any["offered_rate"]} ");
                Triple(text, ours, reference, "deliveries_per_s", "0");
                Pair(text, ours, reference, "p50_ms", "0.00");
                Triple(text, ours, reference, "p99_ms", "0.00");
                Triple(text, ours, reference, "server_cpu_us_per_delivery", "0.00");
                Pair(text, ours, reference, "server_alloc_bytes_per_delivery", "0");
                text.AppendLine(CultureInfo.InvariantCulture, $"| {Sustained(ours)}/{Sustained(reference)} |");
            }
            text.AppendLine();
            Sweeps(text, latest);
        }

        CrossNode(text, rows.Where(r => r["scenario"] == "crossnode" && r["target"] == Ours).ToList());

        var idle = shapes.Where(IsIdle).ToList();
        if (idle.Count > 0)
        {
            text.AppendLine("| connections | opened pubsub | signalr | RSS B/conn pubsub | signalr | ratio | heap B/conn pubsub | signalr | ratio | held: cpu % pubsub | signalr | alloc B/s pubsub | signalr |");
            text.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
            foreach (var shape in idle)
            {
                var ours = latest.GetValueOrDefault((shape, Ours));
                var reference = latest.GetValueOrDefault((shape, Reference));
                text.Append(CultureInfo.InvariantCulture, $"| {(ours ?? reference!)["connections"]} ");
                Pair(text, ours, reference, "opened", "0");
                Triple(text, ours, reference, "server_rss_per_connection", "0");
                Triple(text, ours, reference, "server_heap_per_connection", "0");
                Pair(text, ours, reference, "server_cpu_pct", "0.0");
                Pair(text, ours, reference, "server_idle_alloc_bytes_per_s", "0");
                text.AppendLine("|");
            }
        }
        return text.ToString();
    }

    /// <summary>
    /// For each sweep (same shape but the rate): the highest rate each target sustained, their
    /// ratio, and whether PubSub's p99 was no worse at every rate both sustained (issue 6's target).
    /// </summary>
    private static void Sweeps(StringBuilder text, Dictionary<(string Shape, string Target), Dictionary<string, string>> latest)
    {
        var sweeps = latest.Values
            .Where(r => !IsIdle(Shape(r)))
            .GroupBy(r => SweepKey(r))
            .Where(g => g.Select(r => r["offered_rate"]).Distinct().Count() > 1)
            .ToList();
        if (sweeps.Count == 0)
        {
            return;
        }
        text.AppendLine("| sweep | highest sustained rate pubsub | signalr | ratio | p99 no worse at every rate both sustain |");
        text.AppendLine("|---|---|---|---|---|");
        foreach (var sweep in sweeps)
        {
            double? Highest(string target) => sweep.Where(r => r["target"] == target && r["sustained"] == "true")
                .Select(r => r.Number("offered_rate")).Max();
            var ours = Highest(Ours);
            var reference = Highest(Reference);
            var both = sweep.GroupBy(r => r["offered_rate"])
                .Select(g => (Ours: g.FirstOrDefault(r => r["target"] == Ours), Reference: g.FirstOrDefault(r => r["target"] == Reference)))
                .Where(p => p.Ours?["sustained"] == "true" && p.Reference?["sustained"] == "true")
                .ToList();
            var noWorse = both.Count == 0 ? "no rate both sustained"
                : both.All(p => p.Ours!.Number("p99_ms") <= p.Reference!.Number("p99_ms")) ? $"yes ({both.Count} rates)"
                : "no: " + string.Join(", ", both.Where(p => p.Ours!.Number("p99_ms") > p.Reference!.Number("p99_ms")).Select(p => p.Ours!["offered_rate"] + "/s"));
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {sweep.Key} | {Format(ours, "0")} | {Format(reference, "0")} | {Ratio(ours, reference)} | {noWorse} |");
        }
        text.AppendLine();
    }

    /// <summary>
    /// Cross-node runs (PubSub only): each against the one-node run on the memory broker with the
    /// same load (label ending in /1-node-memory, as bench/run.sh names it), for issue 6's target of
    /// at least 70% of one node's deliveries/s and under 2 ms of added p50.
    /// </summary>
    private static void CrossNode(StringBuilder text, List<Dictionary<string, string>> rows)
    {
        if (rows.Count == 0)
        {
            return;
        }
        text.AppendLine("| cross-node run | nodes | subs | rate/s | deliveries/s | vs one node | p50 ms | added p50 ms | p99 ms | cpu µs/delivery (all nodes) | sustained |");
        text.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var row in rows.GroupBy(r => r["label"]).Select(g => g.Last()))
        {
            var baseline = rows.LastOrDefault(r => r["label"].EndsWith("/1-node-memory", StringComparison.Ordinal)
                && r["subscribers"] == row["subscribers"] && r["offered_rate"] == row["offered_rate"] && r["payload_bytes"] == row["payload_bytes"]);
            var added = row.Number("p50_ms") - baseline?.Number("p50_ms");
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {row["label"]} | {row["nodes"]} | {row["subscribers"]} | {row["offered_rate"]} | {Format(row.Number("deliveries_per_s"), "0")} | {Ratio(row.Number("deliveries_per_s"), baseline?.Number("deliveries_per_s"))} | {Format(row.Number("p50_ms"), "0.00")} | {Format(added, "0.00")} | {Format(row.Number("p99_ms"), "0.00")} | {Format(row.Number("server_cpu_us_per_delivery"), "0.00")} | {Sustained(row)} |");
        }
        text.AppendLine();
    }

    private static void Pair(StringBuilder text, Dictionary<string, string>? ours, Dictionary<string, string>? reference, string column, string format) =>
        text.Append(CultureInfo.InvariantCulture, $"| {Format(ours?.Number(column), format)} | {Format(reference?.Number(column), format)} ");

    private static void Triple(StringBuilder text, Dictionary<string, string>? ours, Dictionary<string, string>? reference, string column, string format)
    {
        Pair(text, ours, reference, column, format);
        text.Append(CultureInfo.InvariantCulture, $"| {Ratio(ours?.Number(column), reference?.Number(column))} ");
    }

    private static string Sustained(Dictionary<string, string>? row) => row is null ? "-" : row["sustained"] == "true" ? "yes" : "no";

    private static string Format(double? value, string format) => value?.ToString(format, CultureInfo.InvariantCulture) ?? "-";

    private static string Ratio(double? ours, double? reference) =>
        ours is { } a && reference is { } b && b != 0 ? (a / b).ToString("0.00", CultureInfo.InvariantCulture) + "x" : "-";

    private static string Shape(Dictionary<string, string> row) => string.Join('|', ShapeColumns.Select(c => row.GetValueOrDefault(c, "")));

    private static string SweepKey(Dictionary<string, string> row) =>
        $"{row["scenario"]} {row["transport"]} nodes={row["nodes"]} subs={row["subscribers"]} ch={row["channels"]} {row["payload_bytes"]}B";

    private static bool IsIdle(string shape) => shape.StartsWith("idle|", StringComparison.Ordinal);

    private static bool IsCrossNode(string shape) => shape.StartsWith("crossnode|", StringComparison.Ordinal);
}
