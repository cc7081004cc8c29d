using System.Globalization;
using PubSub.Bench.Clients;
using PubSub.Bench.Measurement;
using PubSub.Bench.Results;
using PubSub.Bench.Scenarios;
using PubSub.Testing;
using Xunit;

namespace PubSub.Bench.Tests;

/// <summary>What the generator reads of a server process (/proc and the diagnostics endpoint), against the real Host.</summary>
public sealed class ServerProbeTests : IDisposable
{
    /// <summary>
    /// The CSV writes three decimals, rounding a half away from zero (524.4625 as 524.463), which a
    /// comparison to three decimal places, rounding it to even, would call a difference.
    /// </summary>
    private const double CsvPrecision = 0.001;

    private readonly HttpClient _http = BenchHttp.Create();

    public void Dispose() => _http.Dispose();

    [Fact]
    public async Task A_run_against_a_Host_process_reads_its_CPU_allocations_collections_and_JIT_time_into_the_result_and_the_CSV()
    {
        await using var host = await HostProcess.StartAsync(new Dictionary<string, string>
        {
            ["Diagnostics__Enabled"] = "true",
            ["PubSub__Channels__90__Template"] = "bench/{id}",
            ["PubSub__Channels__90__AllowClientPublish"] = "true",
        });
        var csv = Path.Combine(Path.GetTempPath(), $"pubsub-bench-{Guid.NewGuid():N}.csv");
        var settings = BenchSettings.Parse([
            "--scenario", "fanout", "--url", host.BaseUri.ToString(), "--server-pid", host.ProcessId.ToString(CultureInfo.InvariantCulture), "--diag",
            "--subscribers", "4", "--rate", "40", "--warmup", "0.2", "--duration", "1", "--drain", "15"]);
        settings.ValidateForRun();
        var probe = new ServerProbe(settings.ServerPids, settings.Urls, _http);

        try
        {
            var result = await new DeliveryScenario(settings, BenchTarget.Create("pubsub", null), probe, _http)
                .RunAsync(40, BenchTransport.WebSocket, CancellationToken.None).WithTimeout("the run", TimeSpan.FromSeconds(60));
            ResultFiles.Append(result, csv, jsonPath: null);

            Assert.Equal(result.Expected, result.Delivered);
            Assert.True(result.ServerCpuPercent > 0 && result.ServerCpuUsPerDelivery > 0, result.Summary());
            Assert.True(result.ServerAllocBytesPerDelivery > 0, result.Summary());
            Assert.True(result.ServerGcCount >= 0 && result.ServerGcPauseMs >= 0, result.Summary());
            // A process this young is still compiling its tiers: a window without JIT time would be a probe that reads nothing.
            Assert.True(result.ServerJitMs > 0, result.Summary());
            var row = Assert.Single(ResultFiles.ReadCsv(csv));
            Assert.Equal(result.ServerGcCount, (long?)row.Number("server_gc_count"));
            Assert.Equal(result.ServerGcPauseMs!.Value, row.Number("server_gc_pause_ms")!.Value, tolerance: CsvPrecision);
            Assert.Equal(result.ServerJitMs!.Value, row.Number("server_jit_ms")!.Value, tolerance: CsvPrecision);
            Assert.Equal(result.ServerAllocBytesPerDelivery!.Value, row.Number("server_alloc_bytes_per_delivery")!.Value, tolerance: CsvPrecision);
        }
        finally
        {
            File.Delete(csv);
        }
    }
}
