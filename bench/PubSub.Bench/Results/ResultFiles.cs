using System.Globalization;
using System.Text;
using System.Text.Json;

namespace PubSub.Bench.Results;

/// <summary>Appends results to CSV and JSON-lines files, and reads the CSV back for compare and plot.</summary>
public static class ResultFiles
{
    public static void Append(RunResult result, string? csvPath, string? jsonPath)
    {
        if (csvPath is not null)
        {
            var columns = string.Join(',', RunResult.Columns.Select(c => c.Name));
            if (File.Exists(csvPath) && File.ReadLines(csvPath).FirstOrDefault() is { } existing && existing != columns)
            {
                // Rows of another column layout would land under the wrong headers: start a new file.
                var kept = $"{csvPath}.{DateTime.UtcNow:yyyyMMddHHmmss}.old";
                File.Move(csvPath, kept);
                Console.Error.WriteLine($"{csvPath} had other columns; moved it to {kept}.");
            }
            var header = !File.Exists(csvPath) || new FileInfo(csvPath).Length == 0;
            var text = new StringBuilder();
            if (header)
            {
                text.AppendJoin(',', RunResult.Columns.Select(c => c.Name)).Append('\n');
            }
            text.AppendJoin(',', RunResult.Columns.Select(c => Cell(c.Get(result)))).Append('\n');
            File.AppendAllText(csvPath, text.ToString());
        }
        if (jsonPath is not null)
        {
            var row = RunResult.Columns.ToDictionary(c => c.Name, c => c.Get(result));
            File.AppendAllText(jsonPath, JsonSerializer.Serialize(row) + "\n");
        }
    }

    /// <summary>Rows of a results CSV as column name → cell text.</summary>
    public static List<Dictionary<string, string>> ReadCsv(string path)
    {
        var lines = File.ReadAllLines(path).Where(l => l.Length > 0).ToList();
        if (lines.Count == 0)
        {
            return [];
        }
        var header = SplitCsv(lines[0]);
        return lines.Skip(1)
            .Select(SplitCsv)
            .Select(cells => header.Select((name, i) => (name, value: i < cells.Count ? cells[i] : ""))
                .ToDictionary(p => p.name, p => p.value))
            .ToList();
    }

    public static double? Number(this Dictionary<string, string> row, string column) =>
        row.TryGetValue(column, out var text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : null;

    private static string Cell(object? value) => value switch
    {
        null => "",
        double d => d.ToString("0.###", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => Quote(value.ToString() ?? ""),
    };

    private static string Quote(string text) =>
        text.IndexOfAny([',', '"', '\n']) < 0 ? text : "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static List<string> SplitCsv(string line)
    {
        var cells = new List<string>();
        var cell = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"')
                {
                    cell.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    cell.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                cells.Add(cell.ToString());
                cell.Clear();
            }
            else
            {
                cell.Append(c);
            }
        }
        cells.Add(cell.ToString());
        return cells;
    }
}
