using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace PubSub.Cluster.Tests;

/// <summary>
/// Liveness apart from readiness, on the Host as an operator runs it: <c>/healthz/live</c> says
/// the process answers, <c>/healthz/ready</c> (and <c>/healthz</c>) whether the node can reach its
/// Redis, 503 with the reason while it cannot, 200 again once it can.
/// </summary>
public sealed class ReadinessTests
{
    [Fact]
    public async Task A_node_is_unready_with_a_reason_while_redis_is_down_and_ready_again_when_it_is_back()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var host = await HostProcess.StartAsync(new Dictionary<string, string>
        {
            ["PubSub__Redis__Configuration"] = redis.Configuration,
            ["PubSub__Redis__ReconnectInterval"] = "00:00:00.200",
        });
        using var http = new HttpClient { BaseAddress = host.BaseUri, Timeout = Timeouts.Default };
        await Timeouts.Until(async () => (await http.GetAsync("healthz/ready")).StatusCode == HttpStatusCode.OK, "the node to be ready");

        await redis.KillAsync();
        await Timeouts.Until(async () => (await http.GetAsync("healthz/ready")).StatusCode == HttpStatusCode.ServiceUnavailable, "the node to be unready");
        using var unready = await http.GetAsync("healthz/ready");
        var report = JsonSerializer.Deserialize<JsonElement>(await unready.Content.ReadAsStringAsync());
        using var old = await http.GetAsync("healthz");
        using var live = await http.GetAsync("healthz/live");
        await redis.StartAgainAsync();
        await Timeouts.Until(async () => (await http.GetAsync("healthz/ready")).StatusCode == HttpStatusCode.OK, "the node to be ready again");

        Assert.Equal("Unhealthy", report.GetProperty("status").GetString());
        Assert.Contains("unreachable", report.GetProperty("checks").GetProperty(PubSubHealthChecks.Broker).GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, old.StatusCode);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }

    [Fact]
    public async Task The_compose_files_health_check_command_passes_against_a_ready_node_and_fails_against_an_unready_one()
    {
        var compose = await File.ReadAllTextAsync(Path.Combine(Repository.Root, "docker-compose.yml"));
        var test = Regex.Match(compose, @"test: \[""CMD"", ""bash"", ""-c"", ""(.+)""\]").Groups[1].Value;
        Assert.False(string.IsNullOrEmpty(test), "docker-compose.yml has no bash health check for the nodes");
        // As YAML reads the double-quoted string; then aimed at this node's port instead of the container's.
        var command = test.Replace("\\\\", "\\", StringComparison.Ordinal).Replace("/8080", "/{port}", StringComparison.Ordinal);

        await using var redis = await RedisServer.StartAsync();
        await using var host = await HostProcess.StartAsync(new Dictionary<string, string> { ["PubSub__Redis__Configuration"] = redis.Configuration });
        using var http = new HttpClient { BaseAddress = host.BaseUri, Timeout = Timeouts.Default };
        await Timeouts.Until(async () => (await http.GetAsync("healthz/ready")).StatusCode == HttpStatusCode.OK, "the node to be ready");
        var whenReady = await RunAsync(command.Replace("{port}", host.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
        await redis.KillAsync();
        await Timeouts.Until(async () => (await http.GetAsync("healthz/ready")).StatusCode != HttpStatusCode.OK, "the node to be unready");
        var whenUnready = await RunAsync(command.Replace("{port}", host.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));

        Assert.Equal(0, whenReady);
        Assert.NotEqual(0, whenUnready);
    }

    private static async Task<int> RunAsync(string script)
    {
        using var process = Process.Start(new ProcessStartInfo("bash", ["-c", script]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        await process.WaitForExitAsync().WithTimeout("the health check command");
        return process.ExitCode;
    }
}
