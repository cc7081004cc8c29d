using System.Net;

namespace PubSub.Host;

/// <summary>
/// <c>GET /debug/memory</c>: the managed heap, the bytes allocated since start, the GC counts and
/// pauses, the JIT's time, for the load generator (docs/benchmarks.md), which cannot read them from /proc. Off unless
/// <c>Diagnostics:Enabled</c> is true, and answers loopback callers only: <c>?gc=true</c> forces a
/// full blocking collection, which no one outside a benchmark should be able to trigger.
/// bench/SignalRReference compiles this same file, so both servers report alike.
/// </summary>
internal static class DiagnosticsEndpoint
{
    public const string EnabledKey = "Diagnostics:Enabled";

    public static void MapDiagnosticsIfEnabled(this WebApplication app)
    {
        if (!app.Configuration.GetValue<bool>(EnabledKey))
        {
            return;
        }
        app.MapGet("/debug/memory", (HttpContext context, bool? gc) =>
        {
            if (context.Connection.RemoteIpAddress is not { } remote || !IPAddress.IsLoopback(remote))
            {
                return Results.NotFound();
            }
            if (gc == true)
            {
                // Twice, so objects freed by finalizers in the first pass are gone too: what is
                // left is what the process really holds.
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
                GC.WaitForPendingFinalizers();
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            }
            return Results.Json(new
            {
                heapBytes = GC.GetTotalMemory(forceFullCollection: false),
                allocatedBytes = GC.GetTotalAllocatedBytes(precise: false),
                committedBytes = GC.GetGCMemoryInfo().TotalCommittedBytes,
                gen0 = GC.CollectionCount(0),
                gen1 = GC.CollectionCount(1),
                gen2 = GC.CollectionCount(2),
                // The time threads were paused for collections: what a delivery can wait behind.
                gcPauseMs = GC.GetTotalPauseDuration().TotalMilliseconds,
                // Time spent compiling, tier-up included: a window that contains it measures warm-up, not steady state.
                jitMs = System.Runtime.JitInfo.GetCompilationTime().TotalMilliseconds,
                serverGc = System.Runtime.GCSettings.IsServerGC,
            });
        });
    }
}
