using System.Globalization;
using Microsoft.Diagnostics.Runtime;

// heapstat count PID             the live managed heap of PID by type: "bytes count type" per line
// heapstat diff BEFORE AFTER N   what grew between two counts, per connection (N connections),
//                                by type and grouped by who owns it
if (args is ["count", var pidText])
{
    var pid = int.Parse(pidText, CultureInfo.InvariantCulture);
    // Suspends the process while the heap is walked; the caller forces a GC first
    // (/debug/memory?gc=true) so that only live objects are counted.
    using var target = DataTarget.AttachToProcess(pid, suspend: true);
    var runtime = target.ClrVersions[0].CreateRuntime();
    var types = new Dictionary<string, (long Bytes, long Count)>();
    foreach (var item in runtime.Heap.EnumerateObjects().Where(o => o.IsValid))
    {
        var name = item.Type?.Name ?? "?";
        var seen = types.GetValueOrDefault(name);
        types[name] = (seen.Bytes + (long)item.Size, seen.Count + 1);
    }
    foreach (var (name, (bytes, count)) in types.OrderByDescending(t => t.Value.Bytes))
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{bytes} {count} {name}"));
    }
    return 0;
}

if (args is ["diff", var beforePath, var afterPath, var connectionsText])
{
    var connections = double.Parse(connectionsText, CultureInfo.InvariantCulture);
    var before = Read(beforePath);
    var growth = Read(afterPath)
        .Select(t => (t.Key, Bytes: t.Value.Bytes - before.GetValueOrDefault(t.Key).Bytes, Count: t.Value.Count - before.GetValueOrDefault(t.Key).Count))
        .Where(t => t.Bytes != 0)
        .OrderByDescending(t => t.Bytes)
        .ToList();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"total: {growth.Sum(t => t.Bytes) / connections:0} B per connection"));
    foreach (var group in growth.GroupBy(t => Owner(t.Key)).OrderByDescending(g => g.Sum(t => t.Bytes)))
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {group.Key,-14} {group.Sum(t => t.Bytes) / connections,7:0} B"));
    }
    Console.WriteLine("largest types (B per connection, objects per connection):");
    foreach (var (name, bytes, count) in growth.Take(30))
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {bytes / connections,7:0} {count / connections,6:0.00}  {(name.Length > 140 ? name[..140] : name)}"));
    }
    return 0;
}

Console.Error.WriteLine("usage: heapstat count PID | heapstat diff BEFORE AFTER CONNECTIONS");
return 2;

static Dictionary<string, (long Bytes, long Count)> Read(string path) =>
    File.ReadLines(path)
        .Select(line => line.Split(' ', 3))
        .Where(parts => parts.Length == 3)
        .ToDictionary(
            parts => parts[2],
            parts => (long.Parse(parts[0], CultureInfo.InvariantCulture), long.Parse(parts[1], CultureInfo.InvariantCulture)));

static string Owner(string type) =>
    type.Contains("PubSub", StringComparison.Ordinal) ? "pubsub"
    : type.Contains("SignalR", StringComparison.Ordinal) || type.Contains("Http.Connections", StringComparison.Ordinal) ? "signalr"
    : type.Contains("Kestrel", StringComparison.Ordinal) || type.Contains("AspNetCore", StringComparison.Ordinal) || type.Contains("Pipelines", StringComparison.Ordinal) ? "aspnetcore"
    : type.Contains("WebSocket", StringComparison.Ordinal) ? "websocket"
    : type.Contains("Sockets", StringComparison.Ordinal) ? "sockets"
    : "other (shared)";
