using System.Text;
using PubSub.Redis;

namespace PubSub.Server.Redis.Tests;

/// <summary>
/// The Redis broker on a real Redis Cluster (three masters with a replica each): every key of a
/// channel in its slot, fan-out over sharded pub/sub, node messages and liveness, and what
/// publishers and subscribers see when a master dies or a slot moves while they work.
/// </summary>
public sealed class RedisClusterBrokerTests : IAsyncLifetime
{
    private static readonly HistoryOptions History = new(1000, TimeSpan.FromMinutes(5));

    private readonly List<RedisBroker> _brokers = [];
    private RedisCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await RedisCluster.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var broker in _brokers)
        {
            await broker.DisposeAsync();
        }
        await _cluster.DisposeAsync();
    }

    private async Task<(RedisBroker Broker, RecordingBrokerHandler Handler, string NodeId)> StartNodeAsync()
    {
        var broker = TestBrokers.CreateForCluster(_cluster, o => o.OperationTimeout = TimeSpan.FromSeconds(1));
        _brokers.Add(broker);
        return await TestBrokers.StartAsync(broker);
    }

    private static Payload Json(int n) => Payload.FromJson(Encoding.UTF8.GetBytes(n.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    [Theory]
    [InlineData("chat/lobby")]
    [InlineData("a{b}c")]
    [InlineData("}{chat/lobby}{")]
    [InlineData("100%{x")]
    public async Task A_channels_keys_and_its_sharded_pubsub_channel_share_one_slot_whatever_braces_its_name_holds(string channel)
    {
        var (publisher, _, _) = await StartNodeAsync();
        var (subscriber, handler, _) = await StartNodeAsync();
        await subscriber.SubscribeAsync(channel, CancellationToken.None);

        var position = await publisher.PublishAsync(channel, Json(1), History, CancellationToken.None);
        var delivered = await handler.NextPublicationAsync();

        var tag = RedisKeys.Tag(channel);
        var meta = "pubsub:meta:" + tag;
        var history = "pubsub:history:" + tag;
        var pubsub = "pubsub:channel:" + tag;
        var slot = await _cluster.KeySlotAsync(meta);
        Assert.Equal(slot, await _cluster.KeySlotAsync(history));
        Assert.Equal(slot, await _cluster.KeySlotAsync(pubsub));
        // The user's braces are escaped: the slot is that of the whole name, not of what they enclose.
        Assert.Equal(await _cluster.KeySlotAsync(tag[1..^1]), slot);
        var master = await _cluster.MasterForAsync(meta);
        Assert.Equal(1L, await _cluster.ExecuteAsync(master, "EXISTS", meta));
        Assert.Equal(1L, await _cluster.ExecuteAsync(master, "XLEN", history));
        // Fan-out stays within the slot's shard: a sharded channel there, no classic channel anywhere.
        Assert.Contains(pubsub, (object?[])(await _cluster.ExecuteAsync(master, "PUBSUB", "SHARDCHANNELS"))!);
        foreach (var node in _cluster.Masters)
        {
            Assert.Empty((object?[])(await _cluster.ExecuteAsync(node, "PUBSUB", "CHANNELS", "pubsub:*"))!);
        }
        Assert.Equal(position, delivered.Position);
    }

    [Fact]
    public async Task Channels_whose_names_differ_only_in_escaped_characters_never_share_keys()
    {
        var (broker, _, _) = await StartNodeAsync();

        var plain = await broker.PublishAsync("x%7By", Json(1), History, CancellationToken.None);
        var braced = await broker.PublishAsync("x{y", Json(2), History, CancellationToken.None);
        await broker.PublishAsync("x{y", Json(3), History, CancellationToken.None);

        Assert.Equal(1, plain.Offset);
        Assert.Equal(1, braced.Offset);
        Assert.Single((await broker.ReadHistoryAsync("x%7By", new HistoryQuery(null, 10), CancellationToken.None)).Publications);
        Assert.Equal(2, (await broker.ReadHistoryAsync("x{y", new HistoryQuery(null, 10), CancellationToken.None)).Publications.Count);
    }

    [Fact]
    public async Task Node_messages_and_liveness_work_across_the_cluster()
    {
        var (a, _, _) = await StartNodeAsync();
        var (b, handlerB, idB) = await StartNodeAsync();

        Assert.True(await a.SendToNodeAsync(idB, "hello"u8.ToArray(), CancellationToken.None));
        Assert.Equal("hello"u8.ToArray(), await handlerB.NextNodeMessageAsync());
        Assert.Null(await b.CheckAvailabilityAsync(CancellationToken.None));

        await b.DisposeAsync();
        Assert.False(await a.SendToNodeAsync(idB, "anyone?"u8.ToArray(), CancellationToken.None));
    }

    [Fact]
    public async Task When_the_master_of_a_busy_channels_slot_dies_every_confirmed_publication_reaches_both_nodes_in_order_and_failures_are_told()
    {
        const string Channel = "busy/failover";
        var (publisher, publisherHandler, _) = await StartNodeAsync();
        var (subscriber, subscriberHandler, _) = await StartNodeAsync();
        await publisher.SubscribeAsync(Channel, CancellationToken.None);
        await subscriber.SubscribeAsync(Channel, CancellationToken.None);
        var master = await _cluster.MasterForAsync("pubsub:meta:" + RedisKeys.Tag(Channel));

        var confirmed = new List<StreamPosition>();
        var refused = new List<string>();
        Task? failover = null;
        for (var n = 1; confirmed.Count < 300; n++)
        {
            Assert.True(n < 5000, $"only {confirmed.Count} publications were confirmed in {n} attempts");
            if (confirmed.Count == 100 && failover is null)
            {
                // What was confirmed so far is on the replica; what comes now races the kill.
                await _cluster.WaitForReplicationAsync();
                await _cluster.KillAsync(master);
                failover = _cluster.WaitForFailoverAsync(master);
            }
            try
            {
                confirmed.Add(await publisher.PublishAsync(Channel, Json(n), History, CancellationToken.None));
            }
            catch (PubSubException e) when (e.Code is PubSubErrorCodes.Unavailable or PubSubErrorCodes.Timeout)
            {
                refused.Add(e.Code);
                // Paces the retries of a bounded loop while the cluster fails over; nothing waits on its timing.
                await Task.Delay(20);
            }
        }
        await failover!.WithTimeout("the failover", TimeSpan.FromSeconds(30));

        // Publishing failed while the slot had no master, and said so.
        Assert.NotEmpty(refused);
        foreach (var handler in new[] { publisherHandler, subscriberHandler })
        {
            await TestBrokers.AssertEveryConfirmedOnceInOrderAsync(handler, confirmed, () => $"feeds {publisher.FeedOf(Channel)?.State} and {subscriber.FeedOf(Channel)?.State}");
        }
    }

    [Fact]
    public async Task A_slot_moved_to_another_master_while_publishing_loses_and_reorders_nothing()
    {
        const string Channel = "busy/migration";
        var (publisher, _, _) = await StartNodeAsync();
        var (subscriber, handler, _) = await StartNodeAsync();
        await subscriber.SubscribeAsync(Channel, CancellationToken.None);
        var key = "pubsub:meta:" + RedisKeys.Tag(Channel);
        var slot = await _cluster.KeySlotAsync(key);
        var from = await _cluster.MasterForAsync(key);
        var to = _cluster.Masters.First(m => m != from);

        var confirmed = new List<StreamPosition>();
        Task? moving = null;
        for (var n = 1; confirmed.Count < 300; n++)
        {
            Assert.True(n < 5000, $"only {confirmed.Count} publications were confirmed in {n} attempts");
            if (confirmed.Count == 100 && moving is null)
            {
                moving = _cluster.MoveSlotAsync(slot, to);
            }
            try
            {
                confirmed.Add(await publisher.PublishAsync(Channel, Json(n), History, CancellationToken.None));
            }
            catch (PubSubException e) when (e.Code == PubSubErrorCodes.Unavailable)
            {
                // A script whose keys are mid-move is refused (TRYAGAIN): not carried out, so sent again.
                await Task.Delay(10);
            }
        }
        await moving!.WithTimeout("the slot to move", TimeSpan.FromSeconds(30));

        var delivered = await handler.PublicationsAsync(confirmed.Count);
        Assert.Equal(confirmed, delivered.Select(p => p.Position));
        Assert.Equal(to.Id, (await _cluster.MasterForAsync(key)).Id);
        Assert.Equal(Enumerable.Range(1, 300).Select(i => (long)i), confirmed.Select(p => p.Offset));
    }

    [Fact]
    public async Task A_node_starts_while_a_master_is_down_and_works_once_its_replica_took_over()
    {
        var master = _cluster.Masters[0];
        await _cluster.KillAsync(master);

        var (broker, handler, _) = await StartNodeAsync().WithTimeout("the node to start with a master down");
        var promoted = await _cluster.WaitForFailoverAsync(master).WithTimeout("the failover", TimeSpan.FromSeconds(30));
        // The client library learns the new topology on its own schedule after the failover; as
        // generous as the failover's own wait, for a machine running every suite at once.
        await Timeouts.Until(async () => await broker.CheckAvailabilityAsync(CancellationToken.None) is null, "the node to be ready", TimeSpan.FromSeconds(30));
        // A channel whose slot the dead master served when the node started.
        var channel = await ChannelServedByAsync(promoted);
        await broker.SubscribeAsync(channel, CancellationToken.None);
        var position = await broker.PublishAsync(channel, Json(1), History, CancellationToken.None);

        Assert.Equal(position, (await handler.NextPublicationAsync()).Position);
    }

    /// <summary>A channel name whose slot <paramref name="master"/> serves.</summary>
    private async Task<string> ChannelServedByAsync(RedisClusterNode master)
    {
        for (var i = 0; i < 1000; i++)
        {
            var channel = $"served/{i}";
            if ((await _cluster.MasterForAsync("pubsub:meta:" + RedisKeys.Tag(channel))).Id == master.Id)
            {
                return channel;
            }
        }
        throw new InvalidOperationException($"No channel of 1000 falls on {master.Endpoint}.");
    }
}
