using System.Text;
using Microsoft.Extensions.Logging;
using PubSub.Redis;
using StackExchange.Redis;

namespace PubSub.Server.Redis.Tests;

/// <summary>
/// Redis failing under a running broker: a node's link cut and restored, Redis killed and started
/// again with or without its data, Redis going back in time. Each test has a Redis of its own.
/// </summary>
public sealed class RedisFaultTests : IAsyncLifetime
{
    private static readonly HistoryOptions History = new(1000, TimeSpan.FromMinutes(5));

    private readonly List<RedisBroker> _brokers = [];
    private readonly List<IAsyncDisposable> _resources = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var broker in _brokers)
        {
            await broker.DisposeAsync();
        }
        foreach (var resource in _resources)
        {
            await resource.DisposeAsync();
        }
    }

    private async Task<RedisServer> StartRedisAsync(bool persistent = false)
    {
        var server = await RedisServer.StartAsync(persistent);
        _resources.Add(server);
        return server;
    }

    private TcpProxy StartProxy(RedisServer server)
    {
        var proxy = TcpProxy.Start(server.Port);
        _resources.Add(proxy);
        return proxy;
    }

    private async Task<(RedisBroker Broker, RecordingBrokerHandler Handler, string NodeId)> StartNodeAsync(string configuration, RecordingLogger<RedisBroker>? logger = null, Action<RedisBrokerOptions>? configure = null)
    {
        var broker = TestBrokers.Create(configuration, configure, logger);
        _brokers.Add(broker);
        return await TestBrokers.StartAsync(broker);
    }

    private static Payload Json(int n) => Payload.FromJson(Encoding.UTF8.GetBytes(n.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    private static async Task PublishAsync(RedisBroker broker, string channel, int from, int to)
    {
        for (var i = from; i <= to; i++)
        {
            await broker.PublishAsync(channel, Json(i), History, CancellationToken.None);
        }
    }

    /// <summary>Publishes, retrying while the publisher's own connection is still coming back.</summary>
    private static async Task<StreamPosition> PublishWhenReachableAsync(RedisBroker broker, string channel, int n)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await broker.PublishAsync(channel, Json(n), History, CancellationToken.None);
            }
            catch (PubSubException e) when (e.Code == PubSubErrorCodes.Unavailable && attempt < 300)
            {
                // Paces the retries of this bounded loop; nothing waits on its timing.
                await Task.Delay(20);
            }
        }
    }

    [Fact]
    public async Task A_node_cut_off_from_redis_delivers_everything_published_meanwhile_in_order_once_it_is_back()
    {
        var redis = await StartRedisAsync();
        var proxy = StartProxy(redis);
        var logger = new RecordingLogger<RedisBroker>();
        var (subscriber, received, _) = await StartNodeAsync(proxy.Configuration, logger);
        var (publisher, _, _) = await StartNodeAsync(redis.Configuration);
        var channel = "fault/" + Guid.NewGuid().ToString("N");
        await subscriber.SubscribeAsync(channel, CancellationToken.None);
        await PublishAsync(publisher, channel, 1, 20);
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), (await received.PublicationsAsync(20)).Select(p => p.Offset));

        proxy.Cut();
        await PublishAsync(publisher, channel, 21, 60);
        proxy.Restore();
        var recovered = await received.PublicationsAsync(40);
        await PublishAsync(publisher, channel, 61, 70);
        var live = await received.PublicationsAsync(10);

        Assert.Equal(Enumerable.Range(21, 50).Select(i => (long)i), recovered.Concat(live).Select(p => p.Offset));
        Assert.Equal(Enumerable.Range(21, 50).Select(i => $"{i}"), recovered.Concat(live).Select(p => p.Data.ToString()));
        Assert.Single(recovered.Concat(live).Select(p => p.Epoch).Distinct());
        Assert.True(subscriber.RecoveredPublications >= 40, $"recovered {subscriber.RecoveredPublications} from history");
        Assert.DoesNotContain(logger.At(LogLevel.Warning), m => m.Contains("lost publications", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Redis_killed_and_started_again_with_its_data_loses_no_acknowledged_publication()
    {
        var redis = await StartRedisAsync(persistent: true);
        // The subscriber comes back only after the publisher has published on the restarted
        // Redis, so it must take those from history.
        var proxy = StartProxy(redis);
        var (subscriber, received, _) = await StartNodeAsync(proxy.Configuration);
        var (publisher, _, _) = await StartNodeAsync(redis.Configuration);
        var channel = "fault/" + Guid.NewGuid().ToString("N");
        await subscriber.SubscribeAsync(channel, CancellationToken.None);

        var acknowledged = new List<StreamPosition>();
        var failures = new List<PubSubException>();
        var restarted = false;
        for (var n = 1; acknowledged.Count < 300 && n < 5000; n++)
        {
            if (acknowledged.Count == 100 && !restarted)
            {
                proxy.Cut();
                await redis.KillAsync();
            }
            if (acknowledged.Count == 200)
            {
                proxy.Restore();
            }
            try
            {
                acknowledged.Add(await publisher.PublishAsync(channel, Json(n), History, CancellationToken.None));
            }
            catch (PubSubException e)
            {
                failures.Add(e);
                if (!restarted)
                {
                    await redis.StartAgainAsync();
                    restarted = true;
                }
                else
                {
                    // Paces the retries while the publisher reconnects; nothing waits on its timing.
                    await Task.Delay(20);
                }
            }
        }

        Assert.Equal(300, acknowledged.Count);
        Assert.NotEmpty(failures);
        Assert.All(failures, e => Assert.Equal(PubSubErrorCodes.Unavailable, e.Code));
        var last = acknowledged[^1];
        Assert.Single(acknowledged.Select(p => p.Epoch).Distinct());
        // Every offset up to the last acknowledged one arrives once, in order: what the subscriber
        // missed while Redis was down and while it was cut off came from history.
        var delivered = await received.PublicationsAsync((int)last.Offset);
        Assert.Equal(Enumerable.Range(1, (int)last.Offset).Select(i => (long)i), delivered.Select(p => p.Offset));
        Assert.All(acknowledged, p => Assert.Contains(p, delivered.Select(d => d.Position)));
        Assert.True(subscriber.RecoveredPublications >= 100, $"recovered {subscriber.RecoveredPublications} from history");
    }

    [Fact]
    public async Task Redis_started_again_empty_gives_a_new_epoch_whose_publications_reach_a_node_that_was_away()
    {
        var redis = await StartRedisAsync();
        var proxy = StartProxy(redis);
        var (subscriber, received, _) = await StartNodeAsync(proxy.Configuration);
        var (publisher, _, _) = await StartNodeAsync(redis.Configuration);
        var channel = "fault/" + Guid.NewGuid().ToString("N");
        await subscriber.SubscribeAsync(channel, CancellationToken.None);
        await PublishAsync(publisher, channel, 1, 5);
        var before = await received.PublicationsAsync(5);

        proxy.Cut();
        await redis.RestartEmptyAsync();
        var first = await PublishWhenReachableAsync(publisher, channel, 6);
        await PublishAsync(publisher, channel, 7, 8);
        proxy.Restore();
        var whileAway = await received.PublicationsAsync(3);
        await PublishAsync(publisher, channel, 9, 9);
        var after = await received.NextPublicationAsync();

        Assert.NotEqual(before[0].Epoch, first.Epoch);
        Assert.Equal(1, first.Offset);
        Assert.Equal([(1L, "6"), (2L, "7"), (3L, "8"), (4L, "9")], whileAway.Append(after).Select(p => (p.Offset, p.Data.ToString())));
        Assert.All(whileAway.Append(after), p => Assert.Equal(first.Epoch, p.Epoch));
    }

    [Fact]
    public async Task While_redis_is_down_publishing_subscribing_and_reading_fail_with_unavailable_at_once()
    {
        var redis = await StartRedisAsync(persistent: true);
        // A long operation timeout: a failure must come from the dropped connection, not from waiting it out.
        var (broker, handler, _) = await StartNodeAsync(redis.Configuration, configure: o => o.OperationTimeout = TimeSpan.FromMinutes(5));
        var channel = "fault/" + Guid.NewGuid().ToString("N");
        var before = await broker.PublishAsync(channel, Json(1), History, CancellationToken.None);

        await redis.KillAsync();
        var publish = await Assert.ThrowsAsync<PubSubException>(() => broker.PublishAsync(channel, Json(2), History, CancellationToken.None).AsTask().WithTimeout("the publish to fail"));
        var subscribe = await Assert.ThrowsAsync<PubSubException>(() => broker.SubscribeAsync(channel, CancellationToken.None).AsTask().WithTimeout("the subscribe to fail"));
        var read = await Assert.ThrowsAsync<PubSubException>(() => broker.ReadHistoryAsync(channel, new HistoryQuery(0, 10), CancellationToken.None).AsTask().WithTimeout("the read to fail"));
        await redis.StartAgainAsync();
        var after = await PublishWhenReachableAsync(broker, channel, 3);
        await broker.SubscribeAsync(channel, CancellationToken.None);
        var live = await broker.PublishAsync(channel, Json(4), History, CancellationToken.None);
        var page = await broker.ReadHistoryAsync(channel, new HistoryQuery(0, 10), CancellationToken.None);

        Assert.All([publish, subscribe, read], e => Assert.Equal(PubSubErrorCodes.Unavailable, e.Code));
        Assert.IsType<RedisConnectionException>(publish.InnerException);
        Assert.Equal("Redis is unreachable, so the broker could not publish '" + channel + "'.", publish.Message);
        // The failed publish left nothing behind: offsets continue without a gap.
        Assert.Equal(new StreamPosition(2, before.Epoch), after);
        Assert.Equal(["1", "3", "4"], page.Publications.Select(p => p.Data.ToString()));
        Assert.Equal(live, (await handler.NextPublicationAsync()).Position);
    }

    [Fact]
    public async Task Redis_going_back_in_time_starts_a_new_epoch_instead_of_reusing_offsets()
    {
        var redis = await StartRedisAsync();
        var proxy = StartProxy(redis);
        var logger = new RecordingLogger<RedisBroker>();
        var (subscriber, received, _) = await StartNodeAsync(proxy.Configuration, logger);
        var (publisher, _, _) = await StartNodeAsync(redis.Configuration);
        var channel = "fault/" + Guid.NewGuid().ToString("N");
        await subscriber.SubscribeAsync(channel, CancellationToken.None);
        await PublishAsync(publisher, channel, 1, 10);
        var epoch = (await received.PublicationsAsync(10))[^1].Epoch;

        // As after a failover to a replica that lagged: same epoch, older offset.
        proxy.Cut();
        await redis.ExecuteAsync("HSET", "pubsub:meta:{" + channel + "}", "o", "4");
        await redis.ExecuteAsync("XTRIM", "pubsub:history:{" + channel + "}", "MAXLEN", "4");
        proxy.Restore();
        await Timeouts.Until(async () => await redis.ExecuteAsync("HGET", "pubsub:meta:{" + channel + "}", "e") is string e && e != epoch, "the subscriber to restart the channel's epoch");
        var next = await publisher.PublishAsync(channel, Json(11), History, CancellationToken.None);

        Assert.Equal(1, next.Offset);
        Assert.Equal((next, "11"), ((await received.NextPublicationAsync()).Position, "11"));
        Assert.Contains(logger.At(LogLevel.Error), m => m.Contains("went back in time", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_node_started_while_redis_was_down_receives_node_messages_once_redis_is_up()
    {
        var redis = await StartRedisAsync();
        var (sender, _, _) = await StartNodeAsync(redis.Configuration);
        await redis.KillAsync();
        var (late, lateHandler, lateId) = await StartNodeAsync(redis.Configuration, configure: o =>
        {
            o.ConnectTimeout = TimeSpan.FromMilliseconds(200);
            o.NodeHeartbeatInterval = TimeSpan.FromMilliseconds(100);
        });

        await redis.StartAgainAsync();
        await Timeouts.Until(() => SendAsync(sender, lateId), "the late node to become reachable");

        Assert.Equal("ping", Encoding.UTF8.GetString(await lateHandler.NextNodeMessageAsync()));
    }

    private static async Task<bool> SendAsync(RedisBroker sender, string nodeId)
    {
        try
        {
            return await sender.SendToNodeAsync(nodeId, "ping"u8.ToArray(), CancellationToken.None);
        }
        catch (PubSubException)
        {
            return false;
        }
    }

    [Fact]
    public async Task With_a_wrong_password_the_node_starts_unready_says_why_and_refuses_to_publish()
    {
        var server = await StartRedisAsync();
        await server.ExecuteAsync("CONFIG", "SET", "requirepass", "right");
        var logger = new RecordingLogger<RedisBroker>();

        var (broker, _, _) = await StartNodeAsync(server.Configuration + ",password=wrong", logger).WithTimeout("the node to start");
        var publishing = await Assert.ThrowsAsync<PubSubException>(() => broker.PublishAsync("wrong/password", Json(1), History, CancellationToken.None).AsTask());
        // The client library reports the refusal with its connection attempts.
        await Timeouts.Until(async () => await broker.CheckAvailabilityAsync(CancellationToken.None) is { } why && why.Contains("credentials", StringComparison.Ordinal),
            "the node to say that Redis refused its credentials");
        var readiness = await broker.CheckAvailabilityAsync(CancellationToken.None);

        Assert.Equal(PubSubErrorCodes.Unavailable, publishing.Code);
        // Said for as long as it is so: an attempt that failed otherwise in between changes nothing.
        Assert.Contains("refused the credentials", readiness, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong", readiness, StringComparison.Ordinal);
        Assert.Contains(logger.At(LogLevel.Warning), m => m.Contains("Redis", StringComparison.Ordinal) && m.Contains("password=***", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_wrong_password_is_named_when_the_first_attempts_got_no_answer()
    {
        // Both connections' first attempts fail as UnableToConnect (the client gives up on an AUTH
        // that has no reply), which is all StackExchange.Redis's ConnectionFailed ever reports
        // until a connection is up: the CI flake of the test above, here every time. Only the
        // refusals of the attempts after it, once Redis answers, can say why.
        var server = await StartRedisAsync();
        await server.ExecuteAsync("CONFIG", "SET", "requirepass", "right");
        server.Pause();
        var (broker, _, _) = await StartNodeAsync(server.Configuration + ",password=wrong").WithTimeout("the node to start");
        server.Resume();

        await Timeouts.Until(async () => await broker.CheckAvailabilityAsync(CancellationToken.None) is { } why && why.Contains("refused the credentials", StringComparison.Ordinal),
            "the node to say that Redis refused its credentials");
    }
}
