using System.Diagnostics;
using System.Globalization;
using System.Xml.Linq;
using PubSub.Bench;
using PubSub.Bench.Clients;
using PubSub.Bench.Results;
using PubSub.Bench.Scenarios;
using PubSub.Testing;
using Xunit;

namespace PubSub.Bench.Tests;

/// <summary>The reconnect storm at a small size: real Host processes on a real Redis, one killed with SIGKILL.</summary>
public sealed class StormTests : IDisposable
{
    private readonly HttpClient _http = BenchHttp.Create();

    public void Dispose() => _http.Dispose();

    [Fact]
    public async Task Killing_a_node_brings_its_clients_to_the_other_and_each_subscription_delivers_every_publication_once_in_order()
    {
        await using var redis = await RedisServer.StartAsync();
        var environment = new Dictionary<string, string>
        {
            ["PubSub__Redis__Configuration"] = redis.Configuration,
            ["PubSub__Channels__90__Template"] = "bench/{id}",
            ["PubSub__Channels__90__AllowClientPublish"] = "true",
            ["PubSub__Channels__90__HistorySize"] = "100",
            ["PubSub__Channels__90__HistoryTtl"] = "00:05:00",
            ["Host__Metrics__AllowAnonymous"] = "true",
        };
        await using var survivor = await HostProcess.StartAsync(environment);
        await using var victim = await HostProcess.StartAsync(environment);
        var settings = BenchSettings.Parse([
            "--scenario", "storm", "--url", survivor.BaseUri.ToString(), "--url", victim.BaseUri.ToString(),
            "--kill-pid", victim.ProcessId.ToString(CultureInfo.InvariantCulture),
            "--subscribers", "40", "--channels", "10", "--subscriptions", "3", "--sources", "2",
            "--rate", "50", "--warmup", "1", "--duration", "3", "--drain", "20"]);
        settings.ValidateForRun();

        var result = await new StormScenario(settings, _http).RunAsync(CancellationToken.None).WithTimeout("the storm", TimeSpan.FromSeconds(90));

        Assert.Throws<ArgumentException>(() => Process.GetProcessById(victim.ProcessId));
        Assert.Equal(20, result.StormVictims);
        Assert.True(result.Sustained, result.Summary());
        Assert.True(result.Published >= 50 * 4 * 0.9, result.Summary());
        // 40 clients × 3 subscriptions over 10 channels: each publication reaches 12 subscriptions.
        Assert.Equal(result.Published * 12, result.Expected);
        Assert.Equal(result.Expected, result.Delivered);
        Assert.Equal(0, result.Lost);
        Assert.Equal(0, result.OutOfOrder);
        Assert.Equal(0, result.Errors);
        Assert.Equal(0, result.Disconnects);
        Assert.True(result.StormRecoveredMaxS >= result.StormReconnectedMaxS, result.Summary());
        Assert.True(result.StormPeakConnectsPerSecond > 0, result.Summary());
        Assert.NotNull(result.StormHistoryReads);
    }

    [Fact]
    public void A_subscription_counts_each_skipped_repeated_or_foreign_publication_and_those_that_never_came()
    {
        // Channel 2 of 5: its publications are the sequences 2, 7, 12, 17, …
        var subscription = new StormSubscription(channel: 2, channelCount: 5);

        foreach (var sequence in new long[] { 2, 7, 17, 17, 12, 22, 23 })
        {
            subscription.OnSequence(sequence);
        }

        Assert.Equal(7, subscription.Received);
        Assert.Equal(3, subscription.Duplicates); // 17 again, 12 after 17, 23 of another channel
        Assert.True(subscription.CaughtUp(26));
        Assert.False(subscription.CaughtUp(27));
        Assert.Equal(7, subscription.Expected(32)); // 2 … 32
        Assert.Equal(1 + 2, subscription.Missing(32)); // 12 skipped, 27 and 32 never came
    }

    [Fact]
    public void History_reads_are_summed_from_the_nodes_Prometheus_scrape()
    {
        var scrape = """
            # TYPE pubsub_broker_operation_duration_seconds histogram
            pubsub_broker_operation_duration_seconds_count{otel_scope_name="PubSub",pubsub_broker_operation="read"} 7
            pubsub_broker_operation_duration_seconds_count{otel_scope_name="PubSub",pubsub_broker_operation="publish"} 900
            pubsub_broker_operation_duration_seconds_count{otel_scope_name="PubSub",error_type="timeout",pubsub_broker_operation="read"} 2
            pubsub_broker_operation_duration_seconds_sum{otel_scope_name="PubSub",pubsub_broker_operation="read"} 0.5
            """;

        Assert.Equal(9, StormScenario.ParseHistoryReads(scrape));
    }

    [Fact]
    public void The_curve_is_drawn_with_a_line_for_each_series_that_has_values()
    {
        StormSample[] curve =
        [
            new(-0.2, 0, 0, 0, 20, 0, 40),
            new(0.3, 0, 0, 4000, 90, 10, 99),
            new(1.1, 10, 4, 0, 100, 0, 80),
            new(2.0, 10, 10, 0, 30, null, 50),
        ];

        var svg = XDocument.Parse(StormPlot.Render(curve, victims: 10, "storm: 20 clients"));

        XNamespace ns = "http://www.w3.org/2000/svg";
        var paths = svg.Descendants(ns + "path").Select(p => p.Attribute("d")!.Value).ToList();
        Assert.Equal(6, paths.Count);
        Assert.All(paths.Where((_, i) => i != 4), d => Assert.Equal(4, d.Split(" ").Length));
        Assert.Equal(3, paths[4].Split(' ').Length); // Redis's missing sample is skipped, not drawn as 0
        Assert.Contains(svg.Descendants(ns + "text"), t => t.Value == "seconds after the kill");
        Assert.Throws<InvalidOperationException>(() => StormPlot.Render(curve[..1], 10, "one sample"));
    }
}
