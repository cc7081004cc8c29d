using System.Globalization;
using System.Text;
using PubSub.Bench.Scenarios;

namespace PubSub.Bench.Results;

/// <summary>
/// The storm's curve as a self-contained SVG, time after the kill along the bottom: above, the
/// killed node's clients reconnected and recovered (left axis) and the connects per second
/// (right axis); below, the CPU of the surviving node, Redis and the generator.
/// </summary>
public static class StormPlot
{
    private const int Width = 760;
    private const int Left = 70;
    private const int Right = 190;
    private const int Top = 40;
    private const int PanelHeight = 220;
    private const int Gap = 50;
    private const int Height = Top + PanelHeight + Gap + (PanelHeight / 2) + 50;

    public static string Render(IReadOnlyList<StormSample> curve, int victims, string title)
    {
        if (curve.Count < 2)
        {
            throw new InvalidOperationException("A storm curve needs at least two samples to draw.");
        }
        var xMin = curve[0].Seconds;
        var xMax = Math.Max(curve[^1].Seconds, xMin + 1);
        var connectsMax = Math.Max(1, curve.Max(s => s.ConnectsPerSecond)) * 1.05;
        var clientsMax = Math.Max(1, victims) * 1.05;
        double X(double seconds) => Left + ((seconds - xMin) / (xMax - xMin) * (Width - Left - Right));
        double Y(double value, double max, int top, int height) => top + height - (value / max * height);

        var svg = new StringBuilder();
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<svg xmlns="http://www.w3.org/2000/svg" width="{Width}" height="{Height}" font-family="sans-serif" font-size="12">""");
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<rect width="{Width}" height="{Height}" fill="white"/>""");
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<text x="{Width / 2}" y="22" text-anchor="middle" font-size="14">{SvgPlot.Escape(title)}</text>""");

        var cpuTop = Top + PanelHeight + Gap;
        var cpuHeight = PanelHeight / 2;
        Frame(svg, Top, PanelHeight, X(0));
        Frame(svg, cpuTop, cpuHeight, X(0));
        for (var t = Math.Ceiling(xMin); t <= xMax; t++)
        {
            svg.AppendLine(CultureInfo.InvariantCulture, $"""<text x="{X(t):0.#}" y="{cpuTop + cpuHeight + 16}" text-anchor="middle">{t:0}</text>""");
        }
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<text x="{(Left + Width - Right) / 2}" y="{Height - 12}" text-anchor="middle">seconds after the kill</text>""");
        Axis(svg, Left - 6, "end", Top, PanelHeight, clientsMax, "clients");
        Axis(svg, Width - Right + 6, "start", Top, PanelHeight, connectsMax, "connects/s");
        Axis(svg, Left - 6, "end", cpuTop, cpuHeight, 120, "CPU %");

        var legend = Top;
        void Series(Func<StormSample, double?> value, double max, int top, int height, string color, string dash, string name)
        {
            var path = string.Join(' ', curve.Where(s => value(s) is not null).Select((s, i) =>
                string.Create(CultureInfo.InvariantCulture, $"{(i == 0 ? 'M' : 'L')}{X(s.Seconds):0.#},{Y(value(s)!.Value, max, top, height):0.#}")));
            svg.AppendLine(CultureInfo.InvariantCulture, $"""<path d="{path}" fill="none" stroke="{color}" stroke-width="2" stroke-dasharray="{dash}"/>""");
            svg.AppendLine(CultureInfo.InvariantCulture, $"""<line x1="{Width - Right + 70}" y1="{legend}" x2="{Width - Right + 95}" y2="{legend}" stroke="{color}" stroke-width="2" stroke-dasharray="{dash}"/>""");
            svg.AppendLine(CultureInfo.InvariantCulture, $"""<text x="{Width - Right + 100}" y="{legend + 4}">{name}</text>""");
            legend += 18;
        }
        Series(s => s.Reconnected, clientsMax, Top, PanelHeight, "#1f77b4", "", "reconnected");
        Series(s => s.Recovered, clientsMax, Top, PanelHeight, "#2ca02c", "", "recovered");
        Series(s => s.ConnectsPerSecond, connectsMax, Top, PanelHeight, "#ff7f0e", "4,3", "connects/s");
        legend = cpuTop;
        Series(s => s.ServerCpuPercent, 120, cpuTop, cpuHeight, "#444", "", "surviving node");
        Series(s => s.RedisCpuPercent, 120, cpuTop, cpuHeight, "#d62728", "", "Redis");
        Series(s => s.GeneratorCpuPercent, 120, cpuTop, cpuHeight, "#999", "4,3", "generator");
        svg.AppendLine("</svg>");
        return svg.ToString();
    }

    /// <summary>A panel's box and, at the kill, a vertical marker.</summary>
    private static void Frame(StringBuilder svg, int top, int height, double kill)
    {
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<rect x="{Left}" y="{top}" width="{Width - Left - Right}" height="{height}" fill="none" stroke="black"/>""");
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<line x1="{kill:0.#}" y1="{top}" x2="{kill:0.#}" y2="{top + height}" stroke="#999" stroke-dasharray="2,3"/>""");
    }

    /// <summary>Five ticks from 0 to <paramref name="max"/> on one side of a panel, and its label.</summary>
    private static void Axis(StringBuilder svg, int x, string anchor, int top, int height, double max, string label)
    {
        for (var i = 0; i <= 4; i++)
        {
            var value = max * i / 4;
            var y = top + height - (height * i / 4.0);
            svg.AppendLine(CultureInfo.InvariantCulture, $"""<text x="{x}" y="{y + 4:0.#}" text-anchor="{anchor}">{value:0}</text>""");
        }
        var labelX = anchor == "end" ? x - 40 : x + 45;
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<text x="{labelX}" y="{top + (height / 2)}" text-anchor="middle" transform="rotate(-90 {labelX} {top + (height / 2)})">{label}</text>""");
    }
}
