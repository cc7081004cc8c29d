using System.Text;
using PubSub.Redis;

namespace PubSub.Server.Redis.Tests;

/// <summary>What only the Redis broker does: keys and TTLs in Redis, the stored encoding, pipelining, node liveness.</summary>
public sealed class RedisBrokerTests(RedisFixture redis) : IClassFixture<RedisFixture>, IAsyncLifetime
{
    private readonly List<RedisBroker> _brokers = [];

    private RedisServer Server => redis.Server;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var broker in _brokers)
        {
            await broker.DisposeAsync();
        }
    }

    private async Task<(RedisBroker Broker, RecordingBrokerHandler Handler, string NodeId)> StartAsync(Action<RedisBrokerOptions>? configure = null, string? prefix = null, TimeProvider? time = null)
    {
        var broker = TestBrokers.Create([Server.Configuration], options =>
        {
            options.KeyPrefix = prefix ?? options.KeyPrefix;
            configure?.Invoke(options);
        }, time: time);
        _brokers.Add(broker);
        return await TestBrokers.StartAsync(broker);
    }

    private static string NewChannel() => $"redis/{Guid.NewGuid():N}";

    private static Payload Json(string json) => Payload.FromJson(Encoding.UTF8.GetBytes(json));

    [Fact]
    public async Task A_publication_lives_in_the_documented_keys_with_its_ttls()
    {
        var (broker, _, _) = await StartAsync(o => o.StreamIdleTimeout = TimeSpan.FromHours(1));
        var channel = NewChannel();

        var position = await broker.PublishAsync(channel, Json("""{"n":1}"""), new HistoryOptions(10, TimeSpan.FromSeconds(30)), CancellationToken.None);

        var meta = (object?[])(await Server.ExecuteAsync("HGETALL", "pubsub:meta:{" + channel + "}"))!;
        Assert.Equal(["e", position.Epoch, "o", "1"], meta);
        var historyTtl = (long)(await Server.ExecuteAsync("PTTL", "pubsub:history:{" + channel + "}"))!;
        var metaTtl = (long)(await Server.ExecuteAsync("PTTL", "pubsub:meta:{" + channel + "}"))!;
        Assert.InRange(historyTtl, 1, 30_000);
        Assert.InRange(metaTtl, 30_001, 3_600_000);
        Assert.Equal("stream", await Server.ExecuteAsync("TYPE", "pubsub:history:{" + channel + "}"));
    }

    [Fact]
    public async Task Reading_channels_never_published_leaves_meta_keys_that_live_no_longer_than_the_empty_stream_timeout()
    {
        var (broker, _, _) = await StartAsync(o =>
        {
            o.EmptyStreamIdleTimeout = TimeSpan.FromMinutes(1);
            o.StreamIdleTimeout = TimeSpan.FromHours(1);
        });
        var channels = Enumerable.Range(0, 50).Select(_ => NewChannel()).ToList();

        // Every way a node reads a channel: a history read, a subscribe (the feed's floor), and a
        // second read of a stream that exists but is still empty, which must not renew it for the hour.
        foreach (var channel in channels)
        {
            await broker.ReadHistoryAsync(channel, new HistoryQuery(null, 10), CancellationToken.None);
        }
        foreach (var channel in channels.Take(25))
        {
            await broker.SubscribeAsync(channel, CancellationToken.None);
            await broker.ReadHistoryAsync(channel, new HistoryQuery(0, 10), CancellationToken.None);
        }

        foreach (var channel in channels)
        {
            Assert.InRange((long)(await Server.ExecuteAsync("PTTL", "pubsub:meta:{" + channel + "}"))!, 1, 60_000);
        }
    }

    [Fact]
    public async Task A_channel_read_before_its_first_publication_gets_the_idle_ttl_from_it_and_later_reads_keep_it()
    {
        var (broker, _, _) = await StartAsync(o =>
        {
            o.EmptyStreamIdleTimeout = TimeSpan.FromMinutes(1);
            o.StreamIdleTimeout = TimeSpan.FromHours(1);
        });
        var channel = NewChannel();

        var read = await broker.ReadHistoryAsync(channel, new HistoryQuery(null, 10), CancellationToken.None);
        var published = await broker.PublishAsync(channel, Json("1"), HistoryOptions.None, CancellationToken.None);
        await broker.ReadHistoryAsync(channel, new HistoryQuery(null, 10), CancellationToken.None);

        Assert.Equal(new StreamPosition(1, read.Latest.Epoch), published);
        Assert.InRange((long)(await Server.ExecuteAsync("PTTL", "pubsub:meta:{" + channel + "}"))!, 60_001, 3_600_000);
    }

    [Fact]
    public async Task A_history_entry_holds_expiry_kind_and_data_under_the_offset_as_its_id()
    {
        var (broker, _, _) = await StartAsync();
        var channel = NewChannel();
        await broker.PublishAsync(channel, Json("""{"a":1}"""), new HistoryOptions(10, TimeSpan.FromMinutes(1)), CancellationToken.None);
        await broker.PublishAsync(channel, Payload.FromBinary("AB"u8.ToArray()), new HistoryOptions(10, TimeSpan.FromMinutes(1)), CancellationToken.None);

        var entries = (object?[])(await Server.ExecuteAsync("XRANGE", "pubsub:history:{" + channel + "}", "-", "+"))!;

        var first = (object?[])entries[0]!;
        var second = (object?[])entries[1]!;
        Assert.Equal("1-0", first[0]);
        Assert.Equal("2-0", second[0]);
        var fields = (object?[])first[1]!;
        Assert.Equal(["x", "k", "j", "d", """{"a":1}"""], [fields[0], fields[2], fields[3], fields[4], fields[5]]);
        var expires = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse((string)fields[1]!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.InRange(expires - DateTimeOffset.UtcNow, TimeSpan.FromSeconds(50), TimeSpan.FromSeconds(70));
        var secondFields = (object?[])second[1]!;
        Assert.Equal(["b", "AB"], [secondFields[3], secondFields[5]]);
    }

    [Fact]
    public async Task A_publication_travels_on_its_redis_channel_as_kind_offset_epoch_and_data()
    {
        var (broker, _, _) = await StartAsync();
        var channel = NewChannel();
        await using var subscription = await Server.SubscribeAsync("pubsub:channel:{" + channel + "}");

        var position = await broker.PublishAsync(channel, Json("""{"text":"hi"}"""), HistoryOptions.None, CancellationToken.None);
        var binary = await broker.PublishAsync(channel, Payload.FromBinary("x:y"u8.ToArray()), HistoryOptions.None, CancellationToken.None);

        Assert.Equal(("pubsub:channel:{" + channel + "}", $$"""j1:{{position.Epoch}}:{"text":"hi"}"""), await subscription.NextAsync());
        Assert.Equal(("pubsub:channel:{" + channel + "}", $"b2:{binary.Epoch}:x:y"), await subscription.NextAsync());
    }

    [Fact]
    public async Task The_key_prefix_separates_deployments_that_share_a_redis()
    {
        var (first, firstHandler, _) = await StartAsync(prefix: "one:");
        var (second, _, _) = await StartAsync(prefix: "two:");
        var channel = NewChannel();
        await first.SubscribeAsync(channel, CancellationToken.None);

        await second.PublishAsync(channel, Json("2"), HistoryOptions.None, CancellationToken.None);
        var own = await first.PublishAsync(channel, Json("1"), HistoryOptions.None, CancellationToken.None);

        Assert.Equal(1, own.Offset);
        Assert.Equal(own, (await firstHandler.NextPublicationAsync()).Position);
        Assert.Equal(1L, await Server.ExecuteAsync("EXISTS", "two:meta:{" + channel + "}"));
    }

    [Fact]
    public async Task History_is_gone_once_its_ttl_passed()
    {
        var (broker, _, _) = await StartAsync();
        var channel = NewChannel();
        var history = new HistoryOptions(10, TimeSpan.FromMilliseconds(300));
        // Watching first: setting the watch up takes round trips that must not eat into the first entry's 300 ms.
        var expired = await Server.WatchExpiryAsync("pubsub:history:{" + channel + "}");
        await broker.PublishAsync(channel, Json("1"), history, CancellationToken.None);
        var second = await broker.PublishAsync(channel, Json("2"), history, CancellationToken.None);

        var before = await broker.ReadHistoryAsync(channel, new HistoryQuery(0, 10), CancellationToken.None);
        await expired.WithTimeout("Redis to expire the history key");
        var after = await broker.ReadHistoryAsync(channel, new HistoryQuery(0, 10), CancellationToken.None);

        Assert.Equal([1L, 2], before.Publications.Select(p => p.Offset));
        Assert.Empty(after.Publications);
        Assert.Equal(second, after.Latest);
    }

    [Fact]
    public async Task Each_publication_leaves_history_when_its_own_ttl_passed()
    {
        var (broker, _, _) = await StartAsync();
        var channel = NewChannel();
        // Watching before the marker exists: a watch set up after it could miss an expiry only 400 ms away.
        var markerExpired = await Server.WatchExpiryAsync("marker:" + channel);
        // The first publication may live 300 ms, the second a minute: the key lives on, the first entry must not.
        await broker.PublishAsync(channel, Json("1"), new HistoryOptions(10, TimeSpan.FromMilliseconds(300)), CancellationToken.None);
        await Server.ExecuteAsync("SET", "marker:" + channel, "1", "PX", "400");
        await broker.PublishAsync(channel, Json("2"), new HistoryOptions(10, TimeSpan.FromMinutes(1)), CancellationToken.None);

        // Redis's own clock has passed the first entry's expiry once the marker, set after it with a longer TTL, expired.
        await markerExpired.WithTimeout("Redis to expire the marker key");
        var page = await broker.ReadHistoryAsync(channel, new HistoryQuery(0, 10), CancellationToken.None);

        Assert.Equal([2L], page.Publications.Select(p => p.Offset));
        Assert.Equal(1L, await Server.ExecuteAsync("XLEN", "pubsub:history:{" + channel + "}"));
    }

    [Fact]
    public async Task Concurrent_publishes_from_one_node_are_pipelined_and_take_offsets_in_the_order_issued()
    {
        var (broker, _, _) = await StartAsync();
        var channel = NewChannel();
        var shard = broker.ShardFor(channel);
        const int Count = 200;

        // While Redis holds every command back, all of them must be on the wire at once: one
        // round trip at a time would leave a single command in flight.
        await Server.ExecuteAsync("CLIENT", "PAUSE", "10000", "WRITE");
        List<Task<StreamPosition>> publishes;
        try
        {
            publishes = [.. Enumerable.Range(0, Count).Select(i => broker.PublishAsync(channel, Json($"{i}"), HistoryOptions.None, CancellationToken.None).AsTask())];
            await Timeouts.Until(() => shard.CommandsInFlight >= Count, $"{Count} publishes in flight at once (now {shard.CommandsInFlight})");
            Assert.All(publishes, p => Assert.False(p.IsCompleted));
        }
        finally
        {
            await Server.ExecuteAsync("CLIENT", "UNPAUSE");
        }

        var positions = await Task.WhenAll(publishes).WithTimeout("the pipelined publishes");
        Assert.Equal(Enumerable.Range(1, Count).Select(i => (long)i), positions.Select(p => p.Offset));
    }

    [Fact]
    public async Task A_subscribed_node_gets_a_burst_in_the_order_redis_sent_it_without_recovering_anything()
    {
        var (publisher, _, _) = await StartAsync();
        var (subscriber, handler, _) = await StartAsync();
        var channel = NewChannel();
        const int Count = 2000;
        await subscriber.SubscribeAsync(channel, CancellationToken.None);

        await Task.WhenAll(Enumerable.Range(0, Count).Select(i => publisher.PublishAsync(channel, Json($"{i}"), new HistoryOptions(Count, TimeSpan.FromMinutes(5)), CancellationToken.None).AsTask()));
        var delivered = await handler.PublicationsAsync(Count);

        Assert.Equal(Enumerable.Range(1, Count).Select(i => (long)i), delivered.Select(p => p.Offset));
        // In order as they came, not mended from history: the client library's subscribe callbacks
        // run concurrently and reorder (25 to 47 of 2,000 in a trial), its message queue does not.
        Assert.Equal(0, subscriber.RecoveredPublications);
    }

    [Fact]
    public async Task Pipelined_publishes_keep_their_order_when_redis_has_forgotten_the_scripts()
    {
        var (broker, _, _) = await StartAsync();
        var channel = NewChannel();
        const int Count = 1000;

        // As after a Redis restart: the broker has run its scripts, then Redis forgets them while
        // publishes keep coming. A command that fails for want of its script and is sent again
        // would be overtaken by the ones issued after it; one not sent again would fail.
        await broker.PublishAsync(NewChannel(), Json("0"), HistoryOptions.None, CancellationToken.None);
        await Server.ExecuteAsync("SCRIPT", "FLUSH");
        var publishes = new List<Task<StreamPosition>>(Count);
        for (var i = 0; i < Count; i++)
        {
            publishes.Add(broker.PublishAsync(channel, Json($"{i}"), HistoryOptions.None, CancellationToken.None).AsTask());
            if (i % 10 == 9)
            {
                // Let answers come back while publishes are still being issued.
                await Task.Yield();
            }
        }

        var positions = await Task.WhenAll(publishes).WithTimeout("the pipelined publishes");
        Assert.Equal(Enumerable.Range(1, Count).Select(i => (long)i), positions.Select(p => p.Offset));
    }

    [Fact]
    public async Task Sending_to_a_node_whose_heartbeat_expired_returns_false_until_it_renews_it()
    {
        var (a, _, _) = await StartAsync();
        // Node b's heartbeat runs on a clock the test moves, so nothing renews its key between the deletion and
        // the send; the key it set at start lasts (NodeTimeout is Redis's own expiry) until the test deletes it.
        var time = new ManualTimeProvider();
        var (b, bHandler, bId) = await StartAsync(o =>
        {
            o.NodeHeartbeatInterval = TimeSpan.FromMilliseconds(100);
            o.NodeTimeout = TimeSpan.FromMinutes(1);
        }, time: time);
        Assert.True(await a.SendToNodeAsync(bId, "1"u8.ToArray(), CancellationToken.None));
        Assert.Equal("1", Encoding.UTF8.GetString(await bHandler.NextNodeMessageAsync()));

        // A node that hangs keeps its connection (Redis still counts it as a receiver) but stops renewing.
        await Server.ExecuteAsync("DEL", "pubsub:alive:{" + bId + "}");
        var whileExpired = await a.SendToNodeAsync(bId, "2"u8.ToArray(), CancellationToken.None);
        time.Advance(TimeSpan.FromMilliseconds(100));
        await Timeouts.Until(async () => await Server.ExecuteAsync("EXISTS", "pubsub:alive:{" + bId + "}") is 1L, "node b to renew its liveness key");

        Assert.False(whileExpired);
        Assert.True(await a.SendToNodeAsync(bId, "3"u8.ToArray(), CancellationToken.None));
        Assert.Equal("3", Encoding.UTF8.GetString(await bHandler.NextNodeMessageAsync()));
    }

    [Fact]
    public async Task Sending_to_a_node_whose_process_died_returns_false_before_its_heartbeat_expires()
    {
        var (a, _, _) = await StartAsync();
        var (b, _, bId) = await StartAsync();

        // Disposed without StopAsync: its connections close, its liveness key stays for NodeTimeout.
        b.Dispose();
        _brokers.Remove(b);
        await Timeouts.Until(async () => await Server.ExecuteAsync("PUBSUB", "NUMSUB", "pubsub:node:{" + bId + "}") is object?[] { Length: 2 } r && r[1] is 0L, "Redis to drop node b's subscription");

        Assert.Equal(1L, await Server.ExecuteAsync("EXISTS", "pubsub:alive:{" + bId + "}"));
        Assert.False(await a.SendToNodeAsync(bId, "x"u8.ToArray(), CancellationToken.None));
    }

    [Fact]
    public async Task A_channel_name_with_pattern_characters_is_subscribed_literally()
    {
        var (broker, handler, _) = await StartAsync();
        var literal = "pattern/*?[a]" + Guid.NewGuid().ToString("N");
        var other = "pattern/x?[a]" + Guid.NewGuid().ToString("N");
        await broker.SubscribeAsync(literal, CancellationToken.None);

        await broker.PublishAsync(other, Json("1"), HistoryOptions.None, CancellationToken.None);
        await broker.PublishAsync(literal, Json("2"), HistoryOptions.None, CancellationToken.None);

        var received = await handler.NextPublicationAsync();
        Assert.Equal((literal, "2"), (received.Channel, received.Data.ToString()));
    }

    [Fact]
    public async Task A_malformed_message_on_a_channel_is_dropped_and_later_publications_still_arrive()
    {
        var logger = new RecordingLogger<RedisBroker>();
        var broker = TestBrokers.Create(Server.Configuration, logger: logger);
        _brokers.Add(broker);
        var (_, handler, _) = await TestBrokers.StartAsync(broker);
        var channel = NewChannel();
        await broker.SubscribeAsync(channel, CancellationToken.None);

        await Server.ExecuteAsync("PUBLISH", "pubsub:channel:{" + channel + "}", "not a publication");
        var position = await broker.PublishAsync(channel, Json("1"), HistoryOptions.None, CancellationToken.None);

        Assert.Equal(position, (await handler.NextPublicationAsync()).Position);
        Assert.Contains(logger.At(Microsoft.Extensions.Logging.LogLevel.Warning), m => m.Contains("could not be decoded", StringComparison.Ordinal));
    }
}
