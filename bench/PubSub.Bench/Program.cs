using PubSub.Bench;
using PubSub.Bench.Clients;
using PubSub.Bench.Measurement;
using PubSub.Bench.Results;
using PubSub.Bench.Scenarios;

// The load generator of docs/benchmarks.md; bench/run.sh is the usual way to run it.
if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
{
    Console.WriteLine(BenchSettings.Usage);
    return 0;
}

BenchSettings settings;
try
{
    settings = BenchSettings.Parse(args.Skip(1).ToList());
}
catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(BenchSettings.Usage);
    return 2;
}

switch (args[0])
{
    case "compare":
        Console.Write(Comparison.Render(ResultFiles.ReadCsv(settings.CsvPath ?? throw new ArgumentException("compare needs --csv FILE"))));
        return 0;
    case "plot":
        var rows = ResultFiles.ReadCsv(settings.CsvPath ?? throw new ArgumentException("plot needs --csv FILE"))
            .Where(r => r["scenario"] == settings.Scenario && r["transport"] == "ws" && r["nodes"] == "1")
            .ToList();
        var shape = rows.Select(r => $"{r["subscribers"]} subscribers, {r["payload_bytes"]}-byte payloads").Distinct().ToList();
        var svg = SvgPlot.Render(rows, $"{settings.Scenario}: latency against offered rate ({string.Join("; ", shape)})");
        File.WriteAllText(settings.OutPath ?? throw new ArgumentException("plot needs --out FILE.svg"), svg);
        Console.WriteLine($"wrote {settings.OutPath}");
        return 0;
    case "run":
        break;
    default:
        Console.Error.WriteLine($"Unknown command '{args[0]}'.");
        Console.Error.WriteLine(BenchSettings.Usage);
        return 2;
}

try
{
    settings.ValidateForRun();
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

// Lets the pool start as many threads as one core can use at once without the slow ramp-up
// distorting the first seconds (the connects of a large run arrive all together).
ThreadPool.SetMinThreads(Math.Max(8, Environment.ProcessorCount * 4), Math.Max(8, Environment.ProcessorCount * 4));

using var http = BenchHttp.Create();
var target = BenchTarget.Create(settings.Target, settings.Path, settings.MessagePack, settings.Deflate);
var probe = new ServerProbe(settings.ServerPids, settings.Diagnostics ? settings.Urls : [], http);

try
{
    if (settings.Scenario == "storm")
    {
        Report(await new StormScenario(settings, http).RunAsync(stop.Token));
        return 0;
    }
    if (settings.Scenario == "idle")
    {
        Report(await new IdleScenario(settings, target, probe, http).RunAsync(stop.Token));
        return 0;
    }

    var transports = settings.Scenario == "transports"
        ? [BenchTransport.WebSocket, BenchTransport.Sse, BenchTransport.LongPolling]
        : new[] { settings.Transport };
    var scenario = new DeliveryScenario(settings, target, probe, http);
    foreach (var rate in settings.Rates)
    {
        foreach (var transport in transports)
        {
            // The server finishes with the last run (closing its sessions, releasing its channels)
            // before the next one starts.
            var quiet = await probe.WaitQuietAsync(TimeSpan.FromSeconds(10), stop.Token);
            RunResult result;
            try
            {
                result = await scenario.RunAsync(rate, transport, stop.Token);
            }
            catch (Exception e) when (transports.Length > 1 && e is InvalidOperationException or IOException or HttpRequestException or TimeoutException)
            {
                // One transport the server does not offer must not cost the others their runs.
                Console.Error.WriteLine($"{settings.Scenario} {Names.Of(transport)} against {settings.Target} failed: {e.Message}");
                continue;
            }
            if (!quiet)
            {
                result.Note = string.Join("; ", new[] { "server was not idle before the run", result.Note }.Where(n => n.Length > 0));
            }
            Report(result);
        }
    }
    return 0;
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
    Console.Error.WriteLine("Stopped.");
    return 130;
}
catch (Exception e) when (e is InvalidOperationException or IOException or HttpRequestException or TimeoutException)
{
    Console.Error.WriteLine($"{settings.Scenario} against {settings.Target} failed: {e.Message}");
    return 1;
}

void Report(RunResult result)
{
    Console.WriteLine(result.Summary());
    ResultFiles.Append(result, settings.CsvPath, settings.JsonPath);
}
