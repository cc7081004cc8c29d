using System.Diagnostics;

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
        Assert.Equal(1L, await redis.ExecuteAsync("EXISTS", "pubsub:meta:chat/compose"));
    }
}
