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
    private readonly HttpClient _http = BenchHttp.Create();

    public void Dispose() => _http.Dispose();

    [Fact]
    public async Task A_run_against_a_Host_process_reads_its_CPU_allocations_and_collections_into_the_result_and_the_CSV()
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
            var row = Assert.Single(ResultFiles.ReadCsv(csv));
            Assert.Equal(result.ServerGcCount, (long?)row.Number("server_gc_count"));
            Assert.Equal(result.ServerGcPauseMs!.Value, row.Number("server_gc_pause_ms")!.Value, 3);
            Assert.Equal(result.ServerAllocBytesPerDelivery!.Value, row.Number("server_alloc_bytes_per_delivery")!.Value, 3);
        }
        finally
        {
            File.Delete(csv);
        }
    }
}
