using PubSub.Bench.Clients;
using PubSub.Bench.Measurement;
using PubSub.Bench.Results;

namespace PubSub.Bench.Scenarios;

/// <summary>
/// Idle connections: what the server pays to hold N WebSocket sessions that do nothing.
/// The server's RSS (/proc) and live managed heap (after a full GC, from the diagnostics
/// endpoint) are read before the connections open and again once they are all open and have
/// settled; the differences divided by N are the cost per connection. The connections are then
/// held for --hold seconds (answering pings or sending keep-alives as their protocol needs): the
/// server's CPU and allocations over the hold are what idle connections cost in time, and the
/// ones the server closed meanwhile are counted.
/// </summary>
public sealed class IdleScenario(BenchSettings settings, BenchTarget target, ServerProbe probe, HttpClient http)
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(2);

    /// <summary>File descriptors the generator keeps for itself beyond one per connection.</summary>
    private const int ReservedDescriptors = 200;

    public async Task<RunResult> RunAsync(CancellationToken cancellationToken)
    {
        var count = settings.Connections;
        CheckDescriptorLimits(count);
        var sources = settings.SourceAddresses(count);
        var channel = $"bench/idle-{Guid.NewGuid().ToString("N")[..6]}";

        var serverBefore = await probe.SnapshotAsync(collect: true, cancellationToken);
        var generatorBefore = ProcessProbe.ReadRss(ProcessProbe.CurrentPid);

        var failed = 0;
        string? firstFailure = null;
        var clients = await DeliveryScenario.OpenAllAsync(
            count,
            async i =>
            {
                try
                {
                    var url = settings.Urls[i % settings.Urls.Count];
                    var source = sources[i % sources.Count];
                    return settings.IdleSubscribe
                        ? await target.OpenSubscriberAsync(url, BenchTransport.WebSocket, $"{channel}-{i}", source, new SubscriberStats(new RunWindow()), http, cancellationToken)
                        : await target.OpenAsync(url, BenchTransport.WebSocket, source, http, cancellationToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // An idle run reports how many it could open rather than failing at the first refusal.
                    Interlocked.Increment(ref failed);
                    Interlocked.CompareExchange(ref firstFailure, e.Message, null);
                    return null!;
                }
            },
            settings.Concurrency,
            cancellationToken);
        var open = clients.Where(c => c is not null).ToArray();
        using var keepAlive = KeepAlive.Start(target.Protocol, open);
        try
        {
            await Task.Delay(Settle, cancellationToken);
            var serverAfter = await probe.SnapshotAsync(collect: true, cancellationToken);
            var generatorAfter = ProcessProbe.ReadRss(ProcessProbe.CurrentPid);
            // What holding them costs while nothing happens: heartbeats, timers, housekeeping.
            var holdStart = DateTime.UtcNow;
            await Task.Delay(settings.Hold, cancellationToken);
            var serverHeld = await probe.SnapshotAsync(collect: false, cancellationToken);
            var held = (DateTime.UtcNow - holdStart).TotalSeconds;
            var closed = open.Count(c => c.IsClosed);

            var result = new RunResult
            {
                Label = settings.Label,
                Scenario = settings.Scenario,
                Target = target.Name,
                Transport = "ws",
                Nodes = settings.Urls.Count,
                Subscribers = settings.IdleSubscribe ? open.Length : 0,
                Connections = count,
                Opened = open.Length,
                Failed = failed,
                ClosedDuringHold = closed,
                ServerRssBeforeBytes = serverBefore.Rss,
                ServerRssAfterBytes = serverAfter.Rss,
                ServerHeapBeforeBytes = serverBefore.Heap,
                ServerHeapAfterBytes = serverAfter.Heap,
                GeneratorRssPerConnection = open.Length == 0 ? null : (double)(generatorAfter - generatorBefore) / open.Length,
            };
            if (serverAfter.Allocated is { } allocatedBefore && serverHeld.Allocated is { } allocatedAfter)
            {
                result.ServerIdleAllocBytesPerSecond = (allocatedAfter - allocatedBefore) / held;
            }
            if (serverAfter.Cpu is { } cpuBefore && serverHeld.Cpu is { } cpuAfter)
            {
                result.ServerCpuPercent = 100 * (cpuAfter - cpuBefore).TotalSeconds / held;
            }
            if (open.Length > 0)
            {
                result.ServerRssPerConnection = (double?)(serverAfter.Rss - serverBefore.Rss) / open.Length;
                result.ServerHeapPerConnection = (double?)(serverAfter.Heap - serverBefore.Heap) / open.Length;
            }
            var notes = new List<string>();
            if (sources[0] is not null)
            {
                notes.Add($"{sources.Count} source addresses");
            }
            if (firstFailure is not null)
            {
                notes.Add($"first failure: {firstFailure}");
            }
            if (open.FirstOrDefault(c => c.IsClosed) is { } gone)
            {
                notes.Add($"closed: {gone.CloseReason}");
            }
            result.Note = string.Join("; ", notes);
            return result;
        }
        finally
        {
            await Task.WhenAll(open.Select(c => c.DisposeAsync().AsTask()));
        }
    }

    /// <summary>Every connection is a descriptor in both processes: fail early and say so, rather than half-way with EMFILE.</summary>
    private void CheckDescriptorLimits(int count)
    {
        var own = ProcessProbe.ReadOpenFilesLimit(ProcessProbe.CurrentPid);
        if (own is { } limit && count + ReservedDescriptors > limit)
        {
            throw new InvalidOperationException(
                $"{count} connections need about {count + ReservedDescriptors} open files, but this process may open {limit} " +
                "(ulimit -n; raising the hard limit needs CAP_SYS_RESOURCE). Lower --connections.");
        }
        foreach (var pid in settings.ServerPids)
        {
            var server = ProcessProbe.ReadOpenFilesLimit(pid);
            if (server is { } serverLimit && count / settings.ServerPids.Count + ReservedDescriptors > serverLimit)
            {
                throw new InvalidOperationException(
                    $"The server (pid {pid}) may open {serverLimit} files, fewer than {count / settings.ServerPids.Count} connections need. Lower --connections.");
            }
        }
    }
}
