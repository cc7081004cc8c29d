using System.Diagnostics;
using System.Net;
using PubSub.Bench.Clients;
using PubSub.Bench.Measurement;
using PubSub.Bench.Protocols;
using PubSub.Bench.Results;

namespace PubSub.Bench.Scenarios;

/// <summary>
/// Fan-out, many channels, publish-heavy, transports and cross-node: subscribers on one or more
/// channels (and nodes), publishers at a fixed total offered rate, every delivery checked and timed.
/// <list type="number">
/// <item>Open the subscribers (each subscribed when its open returns) and the publishers.</item>
/// <item>Publish at the offered rate: warm-up, then the measurement window. One thread sends
/// open-loop for every publisher; each payload carries the time it was handed to the socket and a
/// sequence number, and publication n goes to channel n mod C on publisher connection n mod P
/// (P divides C, so each channel has one publisher and an order to check).</item>
/// <item>Stop publishing; wait until every window publication reached every subscriber of its
/// channel, or the drain time ran out (what is missing then is lost).</item>
/// </list>
/// Server CPU, allocations and the generator's own CPU are read at the window's start and at the
/// end of the drain, so they cover the work of exactly the window's publications.
/// </summary>
public sealed class DeliveryScenario(BenchSettings settings, BenchTarget target, ServerProbe probe, HttpClient http)
{
    public async Task<RunResult> RunAsync(double rate, BenchTransport transport, CancellationToken cancellationToken)
    {
        var channelCount = settings.ChannelCount;
        var runId = Guid.NewGuid().ToString("N")[..6];
        // Fresh channel names per run: nothing left over from an earlier run can arrive in this one.
        var channels = Enumerable.Range(0, channelCount).Select(i => $"bench/{runId}-{i}").ToArray();
        var window = new RunWindow();
        var stats = Enumerable.Range(0, settings.Subscribers).Select(_ => new SubscriberStats(window)).ToArray();
        var sources = settings.SourceAddresses(settings.Subscribers);

        var subscribers = await OpenAllAsync(
            settings.Subscribers,
            i => target.OpenSubscriberAsync(
                settings.Urls[i % settings.Urls.Count], transport, channels[i % channelCount], sources[i % sources.Count], stats[i], http, cancellationToken),
            settings.Concurrency,
            cancellationToken);
        var publishers = (await OpenAllAsync(
            settings.PublisherCount,
            _ => target.OpenAsync(settings.Urls[0], BenchTransport.WebSocket, null, http, cancellationToken),
            settings.Concurrency,
            cancellationToken)).Cast<WebSocketClient>().ToArray();
        using var keepAlive = KeepAlive.Start(target.Protocol, [.. subscribers, .. publishers]);
        try
        {
            var presenceReads = settings.PresenceReads > 0
                ? await PresenceLoad.MeasureReadsAsync(http, settings.Urls[0], settings.ApiKey!, channels[0], settings.PresenceReads, cancellationToken)
                : null;
            var writers = channels.Select(c => target.Protocol.CreatePublishWriter(c, settings.PayloadSize)).ToArray();
            var run = new PublisherRun(publishers, writers, rate, settings.Warmup, settings.Duration, window);
            var thread = new Thread(run.Run) { IsBackground = true, Name = "publisher", Priority = ThreadPriority.AboveNormal };
            thread.Start();

            await run.WindowOpened.WaitAsync(settings.Warmup + settings.Duration + TimeSpan.FromMinutes(1), cancellationToken);
            var generatorBefore = ProcessProbe.ReadCpu(ProcessProbe.CurrentPid);
            var unitsBefore = subscribers.Sum(s => s.UnitsReceived);
            var wireBefore = subscribers.Sum(s => s.WireBytesReceived);
            var serverBefore = await probe.SnapshotAsync(collect: false, cancellationToken);

            var churn = settings.Churn > 0
                ? PresenceLoad.ChurnAsync(target, settings.Urls[0], channels[0], settings.Churn, http, run.Finished, cancellationToken)
                : Task.FromResult(0);
            await run.Finished.WaitAsync(settings.Duration + TimeSpan.FromMinutes(1), cancellationToken);
            var churned = await churn.WaitAsync(TimeSpan.FromMinutes(1), cancellationToken);
            var published = window.SeqEnd - window.SeqStart;
            var perChannel = settings.Subscribers / channelCount;
            var expected = published * perChannel;
            var drainDeadline = Stopwatch.GetTimestamp() + (long)(settings.Drain.TotalSeconds * Stopwatch.Frequency);
            while (stats.Sum(s => s.WindowReceived) < expected && Stopwatch.GetTimestamp() < drainDeadline && !subscribers.All(s => s.IsClosed))
            {
                await Task.Delay(20, cancellationToken);
            }
            var drained = Stopwatch.GetTimestamp();
            var serverAfter = await probe.SnapshotAsync(collect: false, cancellationToken);
            var generatorAfter = ProcessProbe.ReadCpu(ProcessProbe.CurrentPid);
            var units = subscribers.Sum(s => s.UnitsReceived) - unitsBefore;
            var wire = subscribers.Sum(s => s.WireBytesReceived) - wireBefore;

            var delivered = stats.Sum(s => s.WindowReceived);
            var measured = Stopwatch.GetElapsedTime(run.WindowStartTimestamp, drained);
            var windowSeconds = Stopwatch.GetElapsedTime(run.WindowStartTimestamp, run.WindowEndTimestamp).TotalSeconds;
            var latency = window.Latency;
            var result = new RunResult
            {
                Label = settings.Label,
                Scenario = settings.Scenario,
                Target = target.Name,
                Transport = settings.TransportLabel(transport),
                Nodes = settings.Urls.Count,
                Subscribers = settings.Subscribers,
                Channels = channelCount,
                Publishers = publishers.Length,
                PayloadBytes = settings.PayloadSize,
                OfferedRate = rate,
                WindowSeconds = windowSeconds,
                Published = published,
                AchievedRate = published / windowSeconds,
                Expected = expected,
                Delivered = delivered,
                Lost = expected - delivered,
                OutOfOrder = stats.Sum(s => s.OutOfOrder),
                Disconnects = subscribers.Count(s => s.IsClosed),
                Errors = subscribers.Sum(s => s.Errors) + publishers.Sum(p => p.Errors),
                DeliveriesPerSecond = delivered / windowSeconds,
                P50Ms = latency.Percentile(50) / 1000.0,
                P90Ms = latency.Percentile(90) / 1000.0,
                P99Ms = latency.Percentile(99) / 1000.0,
                MaxMs = latency.MaxMicroseconds / 1000.0,
                MeanMs = latency.MeanMicroseconds / 1000.0,
                PublisherLagMaxMs = RunWindow.ToMicroseconds(run.MaxLagTicks) / 1000.0,
                DeliveriesPerMessage = units == 0 ? null : (double)delivered / units,
                WireBytesPerDelivery = wire == 0 || delivered == 0 ? null : (double)wire / delivered,
                GeneratorCpuPercent = 100 * (generatorAfter - generatorBefore) / measured,
                GeneratorCpuUsPerDelivery = delivered == 0 ? null : (generatorAfter - generatorBefore).TotalMicroseconds / delivered,
            };
            if (serverBefore.Cpu is { } cpuBefore && serverAfter.Cpu is { } cpuAfter)
            {
                result.ServerCpuPercent = 100 * (cpuAfter - cpuBefore) / measured;
                result.ServerCpuUsPerDelivery = delivered == 0 ? null : (cpuAfter - cpuBefore).TotalMicroseconds / delivered;
            }
            if (serverBefore.Allocated is { } allocatedBefore && serverAfter.Allocated is { } allocatedAfter && delivered > 0)
            {
                result.ServerAllocBytesPerDelivery = (double)(allocatedAfter - allocatedBefore) / delivered;
            }
            if (serverBefore.Collections is { } collectionsBefore && serverAfter.Collections is { } collectionsAfter)
            {
                result.ServerGcCount = collectionsAfter - collectionsBefore;
                result.ServerGcPauseMs = serverAfter.GcPauseMs - serverBefore.GcPauseMs;
            }
            result.ServerJitMs = serverAfter.JitMs - serverBefore.JitMs;
            result.Sustained = result.Lost == 0 && result.Disconnects == 0 && result.OutOfOrder == 0
                && result.P99Ms < RunResult.SustainedP99Ms
                && result.AchievedRate >= 0.99 * rate
                && result.PublisherLagMaxMs < RunResult.SustainedP99Ms;
            result.Note = string.Join("; ", new[]
            {
                Notes(result, subscribers, publishers),
                presenceReads ?? "",
                churned > 0 ? $"{churned} sessions joined and left during the run" : "",
            }.Where(n => n.Length > 0));
            return result;
        }
        finally
        {
            await Task.WhenAll(subscribers.Concat(publishers).Select(c => c.DisposeAsync().AsTask()));
        }
    }

    private static string Notes(RunResult result, IReadOnlyList<BenchClient> subscribers, IReadOnlyList<BenchClient> publishers)
    {
        var notes = new List<string>();
        if (result.GeneratorCpuPercent > 85)
        {
            notes.Add("generator near its core's limit: figures may be the generator's");
        }
        if (subscribers.FirstOrDefault(s => s.IsClosed) is { } closed)
        {
            notes.Add($"a subscriber closed: {closed.CloseReason}");
        }
        if (publishers.FirstOrDefault(p => p.IsClosed) is { } closedPublisher)
        {
            notes.Add($"a publisher closed: {closedPublisher.CloseReason}");
        }
        if (subscribers.Concat(publishers).FirstOrDefault(s => s.LastError is not null) is { } failed)
        {
            notes.Add($"error: {failed.LastError}");
        }
        return string.Join("; ", notes);
    }

    /// <summary>Opens <paramref name="count"/> connections, at most --concurrency at a time; any failure fails the run.</summary>
    public static async Task<T[]> OpenAllAsync<T>(int count, Func<int, Task<T>> open, int concurrency, CancellationToken cancellationToken)
        where T : class, IAsyncDisposable
    {
        var clients = new T?[count];
        using var gate = new SemaphoreSlim(concurrency);
        var opening = Enumerable.Range(0, count).Select(async i =>
        {
            await gate.WaitAsync(cancellationToken);
            try
            {
                clients[i] = await open(i);
            }
            finally
            {
                gate.Release();
            }
        }).ToArray();
        try
        {
            await Task.WhenAll(opening);
        }
        catch
        {
            await Task.WhenAll(clients.Where(c => c is not null).Select(c => c!.DisposeAsync().AsTask()));
            var failures = opening.Count(t => t.IsFaulted);
            var first = opening.First(t => t.IsFaulted).Exception!.InnerException!;
            throw new InvalidOperationException($"{failures} of {count} connections failed to open; the first: {first.Message}", first);
        }
        return clients!;
    }
}

/// <summary>Sends the protocol's keep-alive frame on every connection, for protocols whose server times out silent clients.</summary>
public sealed class KeepAlive : IDisposable
{
    private readonly Timer? _timer;

    private KeepAlive(Timer? timer) => _timer = timer;

    public static KeepAlive Start(WireProtocol protocol, IReadOnlyList<BenchClient> clients)
    {
        if (protocol.KeepAlive is not { } frame)
        {
            return new KeepAlive(null);
        }
        var timer = new Timer(
            _ =>
            {
                foreach (var client in clients)
                {
                    if (!client.IsClosed)
                    {
                        _ = client.SendQuietlyAsync(frame);
                    }
                }
            },
            null,
            protocol.KeepAliveInterval,
            protocol.KeepAliveInterval);
        return new KeepAlive(timer);
    }

    public void Dispose() => _timer?.Dispose();
}

/// <summary>The names results use.</summary>
public static class Names
{
    public static string Of(BenchTransport transport) => transport switch
    {
        BenchTransport.WebSocket => "ws",
        BenchTransport.Sse => "sse",
        _ => "poll",
    };

    public static string Of(IPAddress? source) => source?.ToString() ?? "auto";
}
