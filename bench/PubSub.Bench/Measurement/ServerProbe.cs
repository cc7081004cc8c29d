using System.Net.Http.Json;
using System.Text.Json;

namespace PubSub.Bench.Measurement;

/// <summary>What the servers looked like at one moment; a field is null when it could not be read.</summary>
public sealed record ServerSnapshot(TimeSpan? Cpu, long? Rss, long? Heap, long? Allocated, long? Collections = null, double? GcPauseMs = null, double? JitMs = null);

/// <summary>
/// Reads the server processes: CPU and RSS from /proc (with <c>--server-pid</c>), the managed
/// heap, the bytes allocated and the GC collections and pause time and the JIT's compilation time so far from the bench diagnostics endpoint (with <c>--diag</c>),
/// summed over the nodes of a run.
/// </summary>
public sealed class ServerProbe(IReadOnlyList<int> pids, IReadOnlyList<Uri> diagnostics, HttpClient http)
{
    public const string DiagnosticsPath = "debug/memory";

    public bool HasProcess => pids.Count > 0;

    public bool HasDiagnostics => diagnostics.Count > 0;

    /// <summary>
    /// Waits until the servers are idle: the cleanup of the previous run (sessions closing,
    /// channels released after their linger, tiered JIT) must not be billed to the next run.
    /// Quiet means at most one 10 ms CPU tick in half a second; waits at most <paramref name="max"/>.
    /// </summary>
    public async Task<bool> WaitQuietAsync(TimeSpan max, CancellationToken cancellationToken)
    {
        if (!HasProcess)
        {
            await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken);
            return true;
        }
        var deadline = DateTime.UtcNow + max;
        var before = ProcessProbe.Sum(pids).CpuTime;
        while (DateTime.UtcNow < deadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
            var now = ProcessProbe.Sum(pids).CpuTime;
            if (now - before <= TimeSpan.FromMilliseconds(10))
            {
                return true;
            }
            before = now;
        }
        return false;
    }

    /// <summary>
    /// Takes a snapshot. <paramref name="collect"/> asks each server for a full blocking GC first,
    /// so that the heap figure is what is live, not what garbage happens to be waiting.
    /// </summary>
    public async Task<ServerSnapshot> SnapshotAsync(bool collect, CancellationToken cancellationToken)
    {
        long? heap = null, allocated = null, collections = null;
        double? pauseMs = null, jitMs = null;
        foreach (var server in diagnostics)
        {
            var uri = new Uri(server, DiagnosticsPath + (collect ? "?gc=true" : ""));
            var body = await http.GetFromJsonAsync<JsonElement>(uri, cancellationToken);
            heap = (heap ?? 0) + body.GetProperty("heapBytes").GetInt64();
            allocated = (allocated ?? 0) + body.GetProperty("allocatedBytes").GetInt64();
            // gen0 counts every collection: a gen1 or gen2 collection collects gen0 too.
            collections = (collections ?? 0) + body.GetProperty("gen0").GetInt64();
            pauseMs = (pauseMs ?? 0) + body.GetProperty("gcPauseMs").GetDouble();
            // A server built before the endpoint reported it (an A/B against an older build) leaves it null.
            if (body.TryGetProperty("jitMs", out var jit))
            {
                jitMs = (jitMs ?? 0) + jit.GetDouble();
            }
        }
        var process = HasProcess ? ProcessProbe.Sum(pids) : (ProcessSample?)null;
        return new ServerSnapshot(process?.CpuTime, process?.RssBytes, heap, allocated, collections, pauseMs, jitMs);
    }
}
