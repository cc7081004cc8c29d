using System.Globalization;
using System.Text;

namespace PubSub.Bench.Results;

/// <summary>
/// Latency against offered rate, one line per target and percentile, as a self-contained SVG
/// (no plotting library). The latency axis is logarithmic, because an overloaded run's latency is
/// orders of magnitude above a healthy one's; runs that were not sustained are drawn hollow, and
/// runs that delivered nothing within the drain are left out.
/// </summary>
public static class SvgPlot
{
    private const int Width = 760;
    private const int Height = 440;
    private const int Left = 70;
    private const int Right = 180;
    private const int Top = 40;
    private const int Bottom = 60;

    private static readonly Dictionary<string, string> Colors = new() { ["pubsub"] = "#1f77b4", ["signalr"] = "#d62728" };

    public static string Render(IReadOnlyList<Dictionary<string, string>> rows, string title)
    {
        var points = rows
            // A run that delivered nothing in time has no latency to draw (its p99 would read 0).
            .Where(r => r.Number("offered_rate") is not null && r.Number("p99_ms") is not null && r.Number("delivered") is not (null or 0))
            .GroupBy(r => (r["target"], r["offered_rate"]))
            .Select(g => g.Last())
            .ToList();
        if (points.Count == 0)
        {
            throw new InvalidOperationException("No delivery runs with latencies to plot.");
        }
        var xMax = points.Max(p => p.Number("offered_rate")!.Value) * 1.05;
        var yValues = points.SelectMany(p => new[] { p.Number("p50_ms")!.Value, p.Number("p99_ms")!.Value }).Where(v => v > 0).ToList();
        var yMinExp = Math.Floor(Math.Log10(Math.Max(yValues.DefaultIfEmpty(0.1).Min(), 0.01)));
        var yMaxExp = Math.Ceiling(Math.Log10(Math.Max(yValues.DefaultIfEmpty(1).Max(), 1)));
        if (yMaxExp <= yMinExp)
        {
            yMaxExp = yMinExp + 1;
        }
        double X(double rate) => Left + (rate / xMax * (Width - Left - Right));
        double Y(double ms) => Top + ((yMaxExp - Math.Log10(Math.Max(ms, Math.Pow(10, yMinExp)))) / (yMaxExp - yMinExp) * (Height - Top - Bottom));

        var svg = new StringBuilder();
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<svg xmlns="http://www.w3.org/2000/svg" width="{Width}" height="{Height}" font-family="sans-serif" font-size="12">""");
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<rect width="{Width}" height="{Height}" fill="white"/>""");
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<text x="{Width / 2}" y="22" text-anchor="middle" font-size="14">{Escape(title)}</text>""");
        for (var e = yMinExp; e <= yMaxExp; e++)
        {
            var y = Y(Math.Pow(10, e));
            svg.AppendLine(CultureInfo.InvariantCulture, $"""<line x1="{Left}" y1="{y:0.#}" x2="{Width - Right}" y2="{y:0.#}" stroke="#ddd"/>""");
            svg.AppendLine(CultureInfo.InvariantCulture, $"""<text x="{Left - 6}" y="{y + 4:0.#}" text-anchor="end">{Math.Pow(10, e).ToString("0.###", CultureInfo.InvariantCulture)}</text>""");
        }
        var limit = Y(RunResult.SustainedP99Ms);
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<line x1="{Left}" y1="{limit:0.#}" x2="{Width - Right}" y2="{limit:0.#}" stroke="#999" stroke-dasharray="2,3"/>""");
        foreach (var rate in points.Select(p => p.Number("offered_rate")!.Value).Distinct().Order())
        {
            svg.AppendLine(CultureInfo.InvariantCulture, $"""<text x="{X(rate):0.#}" y="{Height - Bottom + 16}" text-anchor="middle">{rate.ToString("0.#", CultureInfo.InvariantCulture)}</text>""");
        }
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<line x1="{Left}" y1="{Height - Bottom}" x2="{Width - Right}" y2="{Height - Bottom}" stroke="black"/>""");
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<line x1="{Left}" y1="{Top}" x2="{Left}" y2="{Height - Bottom}" stroke="black"/>""");
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<text x="{(Left + Width - Right) / 2}" y="{Height - 20}" text-anchor="middle">offered publications/s</text>""");
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<text x="18" y="{(Top + Height - Bottom) / 2}" text-anchor="middle" transform="rotate(-90 18 {(Top + Height - Bottom) / 2})">latency, ms (log)</text>""");

        var legend = Top;
        foreach (var target in points.Select(p => p["target"]).Distinct().Order())
        {
            var color = Colors.GetValueOrDefault(target, "#2ca02c");
            foreach (var (column, dash) in new[] { ("p50_ms", ""), ("p99_ms", "6,4") })
            {
                var series = points.Where(p => p["target"] == target).OrderBy(p => p.Number("offered_rate")).ToList();
                var path = string.Join(' ', series.Select((p, i) =>
                    string.Create(CultureInfo.InvariantCulture, $"{(i == 0 ? 'M' : 'L')}{X(p.Number("offered_rate")!.Value):0.#},{Y(p.Number(column)!.Value):0.#}")));
                svg.AppendLine(CultureInfo.InvariantCulture, $"""<path d="{path}" fill="none" stroke="{color}" stroke-width="2" stroke-dasharray="{dash}"/>""");
                foreach (var p in series)
                {
                    var fill = p["sustained"] == "true" ? color : "white";
                    svg.AppendLine(CultureInfo.InvariantCulture, $"""<circle cx="{X(p.Number("offered_rate")!.Value):0.#}" cy="{Y(p.Number(column)!.Value):0.#}" r="3.5" fill="{fill}" stroke="{color}"/>""");
                }
                svg.AppendLine(CultureInfo.InvariantCulture, $"""<line x1="{Width - Right + 15}" y1="{legend:0}" x2="{Width - Right + 45}" y2="{legend:0}" stroke="{color}" stroke-width="2" stroke-dasharray="{dash}"/>""");
                svg.AppendLine(CultureInfo.InvariantCulture, $"""<text x="{Width - Right + 50}" y="{legend + 4:0}">{target} {column[..3]}</text>""");
                legend += 18;
            }
        }
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<text x="{Width - Right + 15}" y="{legend + 10}">hollow: not sustained</text>""");
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<text x="{Width - Right + 15}" y="{legend + 26}">dotted: 100 ms</text>""");
        svg.AppendLine("</svg>");
        return svg.ToString();
    }

    internal static string Escape(string text) => text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal);
}
