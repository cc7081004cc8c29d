
namespace PubSub.Server.Tests.Diagnostics;

/// <summary>
/// The node's instruments, read the way dotnet-counters and OpenTelemetry read them: from the
/// PubSub meter of the node's own IMeterFactory, so nodes of other tests do not count.
/// </summary>
public sealed class MetricsTests
{
    [Fact]
    public async Task Sessions_are_counted_by_transport_while_open_and_by_close_code_and_reason_when_closed()
    {
        await using var node = await TestNode.StartAsync();
        using var active = node.CollectMetric<long>("pubsub.session.active");
        using var opened = node.CollectMetric<long>("pubsub.session.opened");
        using var closed = node.CollectMetric<long>("pubsub.session.closed");

        var leaving = await node.ConnectAsync();
        await using var kicked = await node.ConnectAsync();
        await using var staying = await node.ConnectAsync();
        Assert.Equal(3, active.Sum(("pubsub.transport", "websocket"), ("pubsub.encoding", "json")));

        await leaving.CloseAsync();
        node.CloseSession(kicked.SessionId, 4500, "bye");
        await kicked.Closed.WaitAsync(Timeouts.Default);
        await closed.WaitForMeasurementsAsync(2, Timeouts.Default);

        Assert.Equal(3, opened.Sum(("pubsub.transport", "websocket")));
        Assert.Equal(1, active.Sum(("pubsub.transport", "websocket")));
        Assert.Equal(1, closed.Sum(("pubsub.close.code", 1000), ("pubsub.close.reason", "client")));
        Assert.Equal(1, closed.Sum(("pubsub.close.code", 4500), ("pubsub.close.reason", "kicked")));
    }

    [Fact]
    public async Task Publications_are_counted_by_publisher_and_outcome_and_deliveries_and_bytes_by_transport()
    {
        await using var node = await TestNode.StartAsync();
        using var publications = node.CollectMetric<long>("pubsub.publication");
        using var deliveries = node.CollectMetric<long>("pubsub.delivery");
        using var bytes = node.CollectMetric<long>("pubsub.outbound.bytes");
        using var subscriptions = node.CollectMetric<long>("pubsub.subscription.active");
        await using var client = await node.ConnectAsync();
        await client.SubscribeAsync("chat/metrics");

        await node.PublishViaApiAsync("chat/metrics", new { from = "api" });
        await node.Publisher.PublishAsync("chat/metrics", new { from = "server" });
        await client.PublishAsync("chat/metrics", new { from = "client" });
        var refused = await client.RequestAsync(new() { ["type"] = "publish", ["channel"] = "news/metrics", ["data"] = new { from = "client" } });
        await client.MessagesAsync(3);
        // A write is counted once it completes, which can be after the client has read it.
        await Timeouts.Until(() => deliveries.Sum() == 3, "three deliveries counted");

        Assert.Equal("forbidden", refused.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(1, publications.Sum(("pubsub.publisher", "api"), ("pubsub.outcome", "accepted")));
        Assert.Equal(1, publications.Sum(("pubsub.publisher", "server"), ("pubsub.outcome", "accepted")));
        Assert.Equal(1, publications.Sum(("pubsub.publisher", "client"), ("pubsub.outcome", "accepted")));
        Assert.Equal(1, publications.Sum(("pubsub.publisher", "client"), ("pubsub.outcome", "refused"), ("error.type", "forbidden")));
        Assert.Equal(3, deliveries.Sum(("pubsub.transport", "websocket")));
        Assert.True(bytes.Sum(("pubsub.transport", "websocket")) > 3 * "{\"from\":\"client\"}".Length);
        Assert.Equal(1, subscriptions.Sum());
    }

    [Fact]
    public async Task Recoveries_say_whether_history_covered_the_gap_and_how_much_was_replayed()
    {
        await using var node = await TestNode.StartAsync();
        using var recoveries = node.CollectMetric<long>("pubsub.recovery");
        using var replayed = node.CollectMetric<long>("pubsub.recovery.replayed");
        var first = await node.Publisher.PublishAsync("chat/recover", new { i = 1 });
        for (var i = 2; i <= 4; i++)
        {
            await node.Publisher.PublishAsync("chat/recover", new { i });
        }
        await using var client = await node.ConnectAsync();

        await client.SubscribeAsync("chat/recover", first.Epoch, first.Offset);
        await client.SubscribeAsync("chat/other", "another-epoch", 1);

        Assert.Equal(1, recoveries.Sum(("pubsub.recovered", true)));
        Assert.Equal(1, recoveries.Sum(("pubsub.recovered", false)));
        Assert.Equal([3L], replayed.GetMeasurementSnapshot().Select(m => m.Value));
    }

    [Fact]
    public async Task Active_channels_are_observed_and_broker_operations_timed()
    {
        await using var node = await TestNode.StartAsync();
        using var channels = node.CollectMetric<long>("pubsub.channel.active");
        using var broker = node.CollectMetric<double>("pubsub.broker.operation.duration");
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
