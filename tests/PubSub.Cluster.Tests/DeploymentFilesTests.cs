using System.Diagnostics;
using System.Text.RegularExpressions;

namespace PubSub.Cluster.Tests;

/// <summary>
/// The deployment files users run (docker-compose.yml and its HAProxy configuration) cannot run
/// here, as there is no Docker engine; what can be checked is checked. The topology itself is what
/// the other cluster tests run with processes on loopback.
/// </summary>
public sealed class DeploymentFilesTests
{
    [Fact]
    public async Task The_balancer_configuration_of_the_compose_file_is_valid_haproxy()
    {
        var config = Path.Combine(Repository.Root, "deploy", "haproxy.cfg");
        using var check = Process.Start(new ProcessStartInfo("haproxy", ["-c", "-f", config]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        var output = await check.StandardOutput.ReadToEndAsync() + await check.StandardError.ReadToEndAsync();
        await check.WaitForExitAsync().WithTimeout("haproxy -c");

        Assert.True(check.ExitCode == 0, output);
        Assert.Contains("mode tcp", await File.ReadAllTextAsync(config), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_host_configured_like_the_compose_file_keeps_its_channels_in_redis()
    {
        await using var redis = await RedisServer.StartAsync();
        var compose = await File.ReadAllTextAsync(Path.Combine(Repository.Root, "docker-compose.yml"));
        Assert.Contains("PubSub__Redis__Configuration: redis:6379", compose, StringComparison.Ordinal);

        // The same variables as the compose file, with this machine's Redis for the service name.
        await using var host = await HostProcess.StartAsync(new Dictionary<string, string>
        {
            ["PubSub__Redis__Configuration"] = redis.Configuration,
            ["PubSub__ApiKey"] = "compose-key",
        });
        using var http = new HttpClient { BaseAddress = host.BaseUri };
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/publish")
        {
            Content = new StringContent("""{"channel":"chat/compose","data":{"n":1}}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-API-Key", "compose-key");
        using var response = await http.SendAsync(request);

        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync() + host.Output);
        Assert.Equal(1L, await redis.ExecuteAsync("EXISTS", "pubsub:meta:{chat/compose}"));
    }

    [Fact]
    public async Task A_host_configured_like_the_compose_file_answers_the_balancers_health_check_and_the_service_names()
    {
        var compose = await File.ReadAllTextAsync(Path.Combine(Repository.Root, "docker-compose.yml"));
        var haproxy = await File.ReadAllTextAsync(Path.Combine(Repository.Root, "deploy", "haproxy.cfg"));
        var allowedHosts = Regex.Match(compose, @"AllowedHosts: ""([^""]+)""").Groups[1].Value;
        var check = Regex.Match(haproxy, @"http-check send meth GET uri (\S+) ver HTTP/1\.1 hdr Host (\S+)");
        var servers = Regex.Matches(haproxy, @"^\s*server (\S+) \S+:8080", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();
        Assert.True(check.Success, "deploy/haproxy.cfg has no HTTP/1.1 health check with a Host header");
        Assert.NotEmpty(servers);

        await using var host = await HostProcess.StartAsync(new Dictionary<string, string> { ["AllowedHosts"] = allowedHosts });
        using var http = new HttpClient { BaseAddress = host.BaseUri, Timeout = Timeouts.Default };

        // What the balancer sends, then what a browser through the balancer and other containers send.
        foreach (var name in new[] { check.Groups[2].Value, "localhost:8080" }.Concat(servers.Select(s => $"{s}:8080")))
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, check.Groups[1].Value) { Headers = { Host = name } };
            using var response = await http.SendAsync(request);
            Assert.True(response.StatusCode == System.Net.HttpStatusCode.OK, $"Host: {name} got {(int)response.StatusCode} with AllowedHosts '{allowedHosts}'");
        }
        using var foreign = new HttpRequestMessage(HttpMethod.Get, check.Groups[1].Value) { Headers = { Host = "attacker.example" } };
        using var refused = await http.SendAsync(foreign);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, refused.StatusCode);
    }
}
