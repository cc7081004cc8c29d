using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace PubSub.Testing;

/// <summary>One target for <see cref="PrometheusServer"/> to scrape, with the bearer token it sends (none when null).</summary>
public sealed record ScrapeJob(string Name, Uri Target, string? BearerToken);

/// <summary>
/// A real Prometheus (Debian's /usr/bin/prometheus) on 127.0.0.1 and a free port, scraping the
/// given targets every second into a throwaway data directory, and asked through its HTTP API.
/// Killed on dispose.
/// </summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;
    private readonly HttpClient _http;

    private PrometheusServer(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = Timeouts.Default };
    }

    public static async Task<PrometheusServer> StartAsync(params ScrapeJob[] jobs)
    {
        var port = FreePort.Next();
        var directory = Directory.CreateTempSubdirectory("pubsub-prometheus-").FullName;
        var config = Path.Combine(directory, "prometheus.yml");
        await File.WriteAllTextAsync(config, Config(jobs));
        var start = new ProcessStartInfo("prometheus",
        [
            $"--config.file={config}",
            $"--storage.tsdb.path={Path.Combine(directory, "data")}",
            $"--web.listen-address=127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}",
        ])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException("prometheus did not start; is it installed (./test.sh installs it)?");
        var log = new List<string>();
        process.ErrorDataReceived += (_, e) => { lock (log) { log.Add(e.Data ?? ""); } };
        process.OutputDataReceived += (_, e) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var prometheus = new PrometheusServer(process, directory, port);
        try
        {
            if (!await FreePort.WaitUntilListeningAsync(port, "prometheus", () => process.HasExited))
            {
                lock (log)
                {
                    throw new InvalidOperationException($"prometheus exited: {string.Join('\n', log)}");
                }
            }
            // It listens before its storage is open, and answers queries with 503 until then.
            await Timeouts.Until(async () => (await prometheus._http.GetAsync("-/ready")).IsSuccessStatusCode, "prometheus to be ready");
        }
        catch
        {
            await prometheus.DisposeAsync();
            throw;
        }
        return prometheus;
    }

    /// <summary>The samples of an instant query (<c>/api/v1/query</c>): each series' labels and value.</summary>
    public async Task<IReadOnlyList<(Dictionary<string, string> Labels, double Value)>> QueryAsync(string promQl)
    {
        var answer = await _http.GetFromJsonAsync<JsonElement>($"api/v1/query?query={Uri.EscapeDataString(promQl)}");
        return [.. answer.GetProperty("data").GetProperty("result").EnumerateArray().Select(series => (
            series.GetProperty("metric").EnumerateObject().ToDictionary(label => label.Name, label => label.Value.GetString()!),
            double.Parse(series.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture)))];
    }

    /// <summary>Waits until the query's only sample has <paramref name="expected"/> as its value (a scrape takes up to a second to land).</summary>
    public async Task UntilValueAsync(string promQl, double expected)
    {
        IReadOnlyList<(Dictionary<string, string> Labels, double Value)> last = [];
        try
        {
            await Timeouts.Until(async () => (last = await QueryAsync(promQl)) is [var only] && only.Value == expected,
                $"Prometheus answers {expected} to {promQl}", every: TimeSpan.FromMilliseconds(200));
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message} Last answer: [{string.Join(", ", last.Select(s => s.Value))}]", e);
        }
    }

    /// <summary>The metric's type as Prometheus learned it from the target (<c>counter</c>, <c>gauge</c>, <c>histogram</c>).</summary>
    public async Task<string?> MetricTypeAsync(string metric)
    {
        var answer = await _http.GetFromJsonAsync<JsonElement>($"api/v1/metadata?metric={Uri.EscapeDataString(metric)}");
        return answer.GetProperty("data").TryGetProperty(metric, out var entries) ? entries[0].GetProperty("type").GetString() : null;
    }

    /// <summary>The last scrape error of each job's target (empty when the scrape succeeded).</summary>
    public async Task<Dictionary<string, string>> ScrapeErrorsAsync()
    {
        var answer = await _http.GetFromJsonAsync<JsonElement>("api/v1/targets?state=active");
        return answer.GetProperty("data").GetProperty("activeTargets").EnumerateArray()
            .ToDictionary(t => t.GetProperty("labels").GetProperty("job").GetString()!, t => t.GetProperty("lastError").GetString()!);
    }

    /// <summary>Runs <c>promtool check config</c> on a configuration file: its exit code and what it printed.</summary>
    public static async Task<(int ExitCode, string Output)> CheckConfigAsync(string path)
    {
        var start = new ProcessStartInfo("promtool", ["check", "config", path]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("promtool did not start; is prometheus installed (./test.sh installs it)?");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(Timeouts.Default);
        return (process.ExitCode, await output + await errors);
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private static string Config(IEnumerable<ScrapeJob> jobs)
    {
        var config = new System.Text.StringBuilder("""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:

            """);
        foreach (var job in jobs)
        {
            config.Append(CultureInfo.InvariantCulture, $"""
                  - job_name: {JsonSerializer.Serialize(job.Name)}
                    metrics_path: {JsonSerializer.Serialize(job.Target.AbsolutePath)}
                    static_configs:
                      - targets: [{JsonSerializer.Serialize(job.Target.Authority)}]

                """);
            if (job.BearerToken is not null)
            {
                config.Append(CultureInfo.InvariantCulture, $"""
                        authorization:
                          credentials: {JsonSerializer.Serialize(job.BearerToken)}

                    """);
            }
        }
        return config.ToString();
    }
}
