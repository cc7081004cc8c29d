using System.Net;
using System.Text.Json;

namespace PubSub.Server.Tests.Diagnostics;

/// <summary>
/// The Host's /metrics as an operator's Prometheus sees it: a real Prometheus scrapes a real Host
/// process with the API key as its bearer token, and the test asks Prometheus, not the node.
/// </summary>
public sealed class PrometheusScrapeTests
{
    private const string Key = "metrics-test-key";

    [Fact]
    public async Task Prometheus_scrapes_the_nodes_instruments_typed_as_counters_gauges_and_histograms()
    {
        await using var host = await HostProcess.StartAsync(new Dictionary<string, string> { ["PubSub__ApiKey"] = Key });
        await using var client = await WsClient.ConnectAsync(new Uri($"ws://127.0.0.1:{host.Port}/pubsub/ws"));
        await client.SubscribeAsync("chat/metrics");
        for (var i = 1; i <= 3; i++)
        {
            await PublishAsync(host, i);
        }
        await client.MessagesAsync(3);

        await using var prometheus = await PrometheusServer.StartAsync(new ScrapeJob("pubsub", Metrics(host), Key));

        await prometheus.UntilValueAsync("""pubsub_publication_total{pubsub_publisher="api",pubsub_outcome="accepted"}""", 3);
        await prometheus.UntilValueAsync("""pubsub_delivery_total{pubsub_transport="websocket"}""", 3);
        await prometheus.UntilValueAsync("""pubsub_session_active{pubsub_transport="websocket",pubsub_encoding="json"}""", 1);
        await prometheus.UntilValueAsync("pubsub_subscription_active", 1);
        await prometheus.UntilValueAsync("pubsub_channel_active", 1);
        await prometheus.UntilValueAsync("""pubsub_broker_operation_duration_seconds_count{pubsub_broker_operation="publish"}""", 3);
        Assert.Equal("counter", await prometheus.MetricTypeAsync("pubsub_publication"));
        Assert.Equal("counter", await prometheus.MetricTypeAsync("pubsub_outbound_bytes"));
        Assert.Equal("gauge", await prometheus.MetricTypeAsync("pubsub_session_active"));
        Assert.Equal("histogram", await prometheus.MetricTypeAsync("pubsub_broker_operation_duration_seconds"));
        // Buckets in seconds, fine enough for a broker call (the SDK's default ones start at 5 s).
        Assert.NotEmpty(await prometheus.QueryAsync("""pubsub_broker_operation_duration_seconds_bucket{le="0.001"}"""));
        // ASP.NET Core's and the runtime's meters come along.
        Assert.NotEmpty(await prometheus.QueryAsync("kestrel_active_connections"));
    }

    [Fact]
    public async Task A_scrape_without_the_key_or_with_a_wrong_one_gets_401_and_the_node_serves_on()
    {
        await using var host = await HostProcess.StartAsync(new Dictionary<string, string> { ["PubSub__ApiKey"] = Key });
        await using var client = await WsClient.ConnectAsync(new Uri($"ws://127.0.0.1:{host.Port}/pubsub/ws"));
        await client.SubscribeAsync("chat/metrics");
        using var http = new HttpClient { BaseAddress = host.BaseUri, Timeout = Timeouts.Default };

        await using var prometheus = await PrometheusServer.StartAsync(
            new ScrapeJob("no-key", Metrics(host), BearerToken: null),
            new ScrapeJob("wrong-key", Metrics(host), "not-the-key"));
        using var response = await http.GetAsync("metrics");
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("unauthorized", error.GetProperty("error").GetProperty("code").GetString());
        await prometheus.UntilValueAsync("""up{job="no-key"}""", 0);
        await prometheus.UntilValueAsync("""up{job="wrong-key"}""", 0);
        Assert.All((await prometheus.ScrapeErrorsAsync()).Values, lastError => Assert.Contains("401", lastError, StringComparison.Ordinal));
        await PublishAsync(host, 1);
        Assert.Equal(1, (await client.NextOfTypeAsync("message")).GetProperty("data").GetProperty("i").GetInt32());
    }

    [Fact]
    public async Task Metrics_can_be_turned_off()
    {
        await using var host = await HostProcess.StartAsync(new Dictionary<string, string>
        {
            ["PubSub__ApiKey"] = Key,
            ["Host__Metrics__Enabled"] = "false",
        });
        using var http = new HttpClient { BaseAddress = host.BaseUri, Timeout = Timeouts.Default };
        using var request = new HttpRequestMessage(HttpMethod.Get, "metrics");
        request.Headers.Authorization = new("Bearer", Key);

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task The_compose_files_Prometheus_configuration_is_one_Prometheus_accepts()
    {
        // deploy/prometheus.yml reads the key from where docker-compose.yml mounts it.
        var directory = Directory.CreateTempSubdirectory("pubsub-promtool-").FullName;
        try
        {
            var keyFile = Path.Combine(directory, "pubsub-api-key");
            await File.WriteAllTextAsync(keyFile, Key);
            var config = Path.Combine(directory, "prometheus.yml");
            var original = await File.ReadAllTextAsync(Path.Combine(Repository.Root, "deploy", "prometheus.yml"));
            Assert.Contains("/etc/prometheus/pubsub-api-key", original, StringComparison.Ordinal);
            await File.WriteAllTextAsync(config, original.Replace("/etc/prometheus/pubsub-api-key", keyFile, StringComparison.Ordinal));

            var (exitCode, output) = await PrometheusServer.CheckConfigAsync(config);

            Assert.True(exitCode == 0, output);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static Uri Metrics(HostProcess host) => new(host.BaseUri, "metrics");

    private static async Task PublishAsync(HostProcess host, int i)
    {
        using var http = new HttpClient { BaseAddress = host.BaseUri, Timeout = Timeouts.Default };
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/publish") { Content = System.Net.Http.Json.JsonContent.Create(new { channel = "chat/metrics", data = new { i } }) };
        request.Headers.Add("X-API-Key", Key);
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
    }
}
