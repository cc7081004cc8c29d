
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

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
    [Fact]
    public async Task What_a_session_holds_is_recorded_at_each_write_and_includes_the_write_itself()
    {
        await using var node = await TestNode.StartAsync();
        using var held = node.CollectMetric<long>("pubsub.outbound.held");
        using var bytes = node.CollectMetric<long>("pubsub.outbound.bytes");
        await using var client = await node.ConnectAsync();
        await client.SubscribeAsync("chat/held");
        var payload = new string('x', 5000);

        await node.Publisher.PublishAsync("chat/held", new { payload });
        await client.MessagesAsync(1);
        // A write is recorded once it is dequeued, which can be after the client has read it.
        await Timeouts.Until(() => held.GetMeasurementSnapshot().Any(m => m.Value >= payload.Length), "the publication's write recorded");

        // Each write records its bytes, then what the session held before it; held first, so no
        // held value lacks its bytes.
        var heldValues = held.GetMeasurementSnapshot();
        var written = bytes.GetMeasurementSnapshot();
        Assert.All(heldValues, m => Assert.Equal("websocket", m.Tags["pubsub.transport"]));
        Assert.All(heldValues.Zip(written), pair => Assert.True(pair.First.Value >= pair.Second.Value,
            $"held {pair.First.Value} bytes before a write of {pair.Second.Value}"));
    }

    [Fact]
    public async Task Heartbeat_timeouts_are_counted_and_other_closes_are_not()
    {
        var time = new ManualTimeProvider();
        await using var node = await TestNode.StartAsync(host: h => h.Services.AddSingleton<TimeProvider>(time));
        using var timeouts = node.CollectMetric<long>("pubsub.session.heartbeat_timeout");
        using var closed = node.CollectMetric<long>("pubsub.session.closed");
        await using var silent = await node.ConnectAsync(answerPings: false);
        await using var kicked = await node.ConnectAsync();

        node.CloseSession(kicked.SessionId, 4500, "bye");
        await kicked.Closed.WithTimeout("the kicked session to close");
        // The clock moves only after the server has read the connect and the kick.
        await silent.PingAsync();
        time.Advance(TimeSpan.FromSeconds(25));
        Assert.Equal("ping", (await silent.NextAsync()).GetProperty("type").GetString());
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(4002, (await silent.NextAsync()).GetProperty("code").GetInt32());
        await silent.Closed.WithTimeout("the server to close the silent socket");
        await closed.WaitForMeasurementsAsync(2, Timeouts.Default);

        Assert.Equal(1, timeouts.Sum());
        Assert.Equal(1, closed.Sum(("pubsub.close.code", 4002), ("pubsub.close.reason", "heartbeat_timeout")));
        Assert.Equal(1, closed.Sum(("pubsub.close.code", 4500)));
    }

    [Fact]
    public async Task Broker_errors_are_counted_by_operation_and_error_code()
    {
        var broker = new FailingBroker("chat/down");
        await using var node = await TestNode.StartAsync(services: b => b.Services.Replace(ServiceDescriptor.Singleton<IBroker>(broker)));
        using var errors = node.CollectMetric<long>("pubsub.broker.error");
        using var durations = node.CollectMetric<double>("pubsub.broker.operation.duration");

        await node.Publisher.PublishAsync("chat/up", new { });
        var refused = await Assert.ThrowsAsync<PubSubException>(() => node.Publisher.PublishAsync("chat/down", new { }).AsTask().WithTimeout("the failed publish"));

        Assert.Equal(PubSubErrorCodes.Unavailable, refused.Code);
        Assert.Equal(1, errors.Sum());
        Assert.Equal(1, errors.Sum(("pubsub.broker.operation", "publish"), ("error.type", "unavailable")));
        // The failed operation is timed as well as counted.
        Assert.Equal(2, durations.GetMeasurementSnapshot().Count(m => Equals(m.Tags["pubsub.broker.operation"], "publish")));
    }

    /// <summary>A memory broker that cannot publish to one channel, as a broker whose shard for it is down.</summary>
    private sealed class FailingBroker(string channel) : MemoryBrokerDecorator
    {
        public override ValueTask<StreamPosition> PublishAsync(string name, Payload data, HistoryOptions history, CancellationToken cancellationToken) =>
            name == channel
                ? ValueTask.FromException<StreamPosition>(new PubSubException(PubSubErrorCodes.Unavailable, "The broker is down."))
                : Inner.PublishAsync(name, data, history, cancellationToken);

        public override ValueTask<StreamPosition> PublishAsync(string name, Payload data, HistoryOptions history, IdempotencyKey idempotency, CancellationToken cancellationToken) =>
            name == channel
                ? ValueTask.FromException<StreamPosition>(new PubSubException(PubSubErrorCodes.Unavailable, "The broker is down."))
                : Inner.PublishAsync(name, data, history, idempotency, cancellationToken);
    }
}
