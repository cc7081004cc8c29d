using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace PubSub.Server.Tests.Diagnostics;

/// <summary>
/// The node's instruments, read the way dotnet-counters and OpenTelemetry read them: from the
/// PubSub meter of the node's own <see cref="IMeterFactory"/>, so nodes of other tests do not count.
/// </summary>
public sealed class MetricsTests
{
    private static MetricCollector<T> Collect<T>(TestNode node, string instrument) where T : struct =>
        new(node.Services.GetRequiredService<IMeterFactory>(), PubSubTelemetry.MeterName, instrument);

    private static long Sum(MetricCollector<long> collector, params (string Key, object? Value)[] tags) =>
        collector.GetMeasurementSnapshot()
            .Where(m => tags.All(t => m.Tags.TryGetValue(t.Key, out var v) && Equals(v, t.Value)))
            .Sum(m => m.Value);

    [Fact]
    public async Task Sessions_are_counted_by_transport_while_open_and_by_close_code_and_reason_when_closed()
    {
        await using var node = await TestNode.StartAsync();
        using var active = Collect<long>(node, "pubsub.session.active");
        using var opened = Collect<long>(node, "pubsub.session.opened");
        using var closed = Collect<long>(node, "pubsub.session.closed");

        var leaving = await node.ConnectAsync();
        await using var kicked = await node.ConnectAsync();
        await using var staying = await node.ConnectAsync();
        Assert.Equal(3, Sum(active, ("pubsub.transport", "websocket"), ("pubsub.encoding", "json")));

        await leaving.CloseAsync();
        node.CloseSession(kicked.SessionId, 4500, "bye");
        await kicked.Closed.WaitAsync(Timeouts.Default);
        await closed.WaitForMeasurementsAsync(2, Timeouts.Default);

        Assert.Equal(3, Sum(opened, ("pubsub.transport", "websocket")));
        Assert.Equal(1, Sum(active, ("pubsub.transport", "websocket")));
        Assert.Equal(1, Sum(closed, ("pubsub.close.code", 1000), ("pubsub.close.reason", "client")));
        Assert.Equal(1, Sum(closed, ("pubsub.close.code", 4500), ("pubsub.close.reason", "kicked")));
    }

    [Fact]
    public async Task Publications_are_counted_by_publisher_and_outcome_and_deliveries_and_bytes_by_transport()
    {
        await using var node = await TestNode.StartAsync();
        using var publications = Collect<long>(node, "pubsub.publication");
        using var deliveries = Collect<long>(node, "pubsub.delivery");
        using var bytes = Collect<long>(node, "pubsub.bytes_sent");
        using var subscriptions = Collect<long>(node, "pubsub.subscription.active");
        await using var client = await node.ConnectAsync();
        await client.SubscribeAsync("chat/metrics");

        await node.PublishViaApiAsync("chat/metrics", new { from = "api" });
        await node.Publisher.PublishAsync("chat/metrics", new { from = "server" });
        await client.PublishAsync("chat/metrics", new { from = "client" });
        var refused = await client.RequestAsync(new() { ["type"] = "publish", ["channel"] = "news/metrics", ["data"] = new { from = "client" } });
        await client.MessagesAsync(3);
        // A write is counted once it completes, which can be after the client has read it.
        await Timeouts.Until(() => Sum(deliveries) == 3, "three deliveries counted");

        Assert.Equal("forbidden", refused.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(1, Sum(publications, ("pubsub.publisher", "api"), ("pubsub.outcome", "accepted")));
        Assert.Equal(1, Sum(publications, ("pubsub.publisher", "server"), ("pubsub.outcome", "accepted")));
        Assert.Equal(1, Sum(publications, ("pubsub.publisher", "client"), ("pubsub.outcome", "accepted")));
        Assert.Equal(1, Sum(publications, ("pubsub.publisher", "client"), ("pubsub.outcome", "refused"), ("error.type", "forbidden")));
        Assert.Equal(3, Sum(deliveries, ("pubsub.transport", "websocket")));
        Assert.True(Sum(bytes, ("pubsub.transport", "websocket")) > 3 * "{\"from\":\"client\"}".Length);
        Assert.Equal(1, Sum(subscriptions));
    }

    [Fact]
    public async Task Recoveries_say_whether_history_covered_the_gap_and_how_much_was_replayed()
    {
        await using var node = await TestNode.StartAsync();
        using var recoveries = Collect<long>(node, "pubsub.recovery");
        using var replayed = Collect<long>(node, "pubsub.recovery.replayed");
        var first = await node.Publisher.PublishAsync("chat/recover", new { i = 1 });
        for (var i = 2; i <= 4; i++)
        {
            await node.Publisher.PublishAsync("chat/recover", new { i });
        }
        await using var client = await node.ConnectAsync();

        await client.SubscribeAsync("chat/recover", first.Epoch, first.Offset);
        await client.SubscribeAsync("chat/other", "another-epoch", 1);

        Assert.Equal(1, Sum(recoveries, ("pubsub.recovered", true)));
        Assert.Equal(1, Sum(recoveries, ("pubsub.recovered", false)));
        Assert.Equal([3L], replayed.GetMeasurementSnapshot().Select(m => m.Value));
    }

    [Fact]
    public async Task Active_channels_are_observed_and_broker_operations_timed()
    {
        await using var node = await TestNode.StartAsync();
        using var channels = Collect<long>(node, "pubsub.channel.active");
        using var broker = Collect<double>(node, "pubsub.broker.operation.duration");
        await using var client = await node.ConnectAsync();
        await client.SubscribeAsync("chat/a");
        await client.SubscribeAsync("chat/b");
        await node.Publisher.PublishAsync("chat/a", new { });

        channels.RecordObservableInstruments();

        Assert.Equal(2, channels.LastMeasurement?.Value);
        var operations = broker.GetMeasurementSnapshot().Select(m => m.Tags["pubsub.broker.operation"]).ToHashSet();
        Assert.Contains("publish", operations);
        Assert.Contains("subscribe", operations);
        Assert.All(broker.GetMeasurementSnapshot(), m => Assert.True(m.Value >= 0));
    }
}
