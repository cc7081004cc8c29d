using System.Text;
using PubSub.Redis;

namespace PubSub.Server.Redis.Tests;

/// <summary>
/// What only the Redis broker's presence does (the shared part is in the broker specification):
/// its keys, a node that dies without a word, and a node whose members Redis lost.
/// </summary>
public sealed class RedisPresenceTests(RedisFixture redis) : IClassFixture<RedisFixture>, IAsyncLifetime
{
    /// <summary>Short, so a dead node's entry expires within a test; the heartbeat well inside it.</summary>
    private static readonly TimeSpan NodeTimeout = TimeSpan.FromSeconds(2);

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

    private async Task<(RedisBroker Broker, RecordingBrokerHandler Handler, string NodeId)> StartAsync()
    {
        var broker = TestBrokers.Create([Server.Configuration], options =>
        {
            options.NodeTimeout = NodeTimeout;
            options.NodeHeartbeatInterval = TimeSpan.FromMilliseconds(200);
        });
        _brokers.Add(broker);
        return await TestBrokers.StartAsync(broker);
    }

    private static string NewChannel() => $"presence/{Guid.NewGuid():N}";

    private static PresenceMember Member(string session, string? user) => new(session, user, Payload.FromJson(Encoding.UTF8.GetBytes("""{"d":1}""")));

    [Fact]
    public async Task Presence_lives_in_the_documented_keys_of_the_channels_slot_for_twice_the_node_timeout()
    {
        var (broker, _, nodeId) = await StartAsync();
        var channel = NewChannel();

        await broker.AddPresenceAsync(channel, Member("s1", "alice"), announce: false, CancellationToken.None);

        var index = "pubsub:presence:{" + channel + "}";
        var members = "pubsub:presence:" + nodeId + ":{" + channel + "}";
        var users = "pubsub:presence-users:{" + channel + "}";
        Assert.Equal("zset", await Server.ExecuteAsync("TYPE", index));
        Assert.Equal("05:alice{\"d\":1}", await Server.ExecuteAsync("HGET", members, "s1"));
        Assert.Equal("1", await Server.ExecuteAsync("HGET", users, "alice"));
        foreach (var key in new[] { index, members, users })
        {
            Assert.InRange((long)(await Server.ExecuteAsync("PTTL", key))!, 1, 2 * (long)NodeTimeout.TotalMilliseconds);
        }
        Assert.NotNull(await Server.ExecuteAsync("ZSCORE", index, nodeId));

        await broker.RemovePresenceAsync(channel, "s1", announce: false, CancellationToken.None);
        Assert.Equal(0L, await Server.ExecuteAsync("EXISTS", index, members, users));
    }

    [Fact]
    public async Task A_node_that_stops_removes_its_members_from_redis_before_its_stop_returns()
    {
        var (broker, _, nodeId) = await StartAsync();
        var (other, _, _) = await StartAsync();
        var channel = NewChannel();
        await broker.AddPresenceAsync(channel, Member("s1", "alice"), announce: true, CancellationToken.None);
        await other.AddPresenceAsync(channel, Member("s2", "bob"), announce: false, CancellationToken.None);

        await broker.StopAsync(CancellationToken.None);

        // Removed by the stop itself, not left to expire with the node's entry.
        Assert.Equal(0L, await Server.ExecuteAsync("EXISTS", "pubsub:presence:" + nodeId + ":{" + channel + "}"));
        Assert.Null(await Server.ExecuteAsync("HGET", "pubsub:presence-users:{" + channel + "}", "alice"));
        Assert.Null(await Server.ExecuteAsync("ZSCORE", "pubsub:presence:{" + channel + "}", nodeId));
        Assert.Equal(new PresenceStats(1, 1), await other.ReadPresenceStatsAsync(channel, CancellationToken.None));
    }

    [Fact]
    public async Task A_node_that_dies_leaves_presence_within_its_node_timeout_and_its_leaves_are_announced()
    {
        var (watcher, handler, _) = await StartAsync();
        var (dying, _, _) = await StartAsync();
        var channel = NewChannel();
        await watcher.SubscribeAsync(channel, CancellationToken.None);
        // The watcher holds a member too, so its heartbeat sweeps the channel.
        await watcher.AddPresenceAsync(channel, Member("w", "watcher"), announce: true, CancellationToken.None);
        await dying.AddPresenceAsync(channel, Member("d1", "alice"), announce: true, CancellationToken.None);
        await dying.AddPresenceAsync(channel, Member("d2", null), announce: false, CancellationToken.None);
        Assert.Equal("w", (await handler.NextPresenceAsync()).Member.Session);
        Assert.Equal("d1", (await handler.NextPresenceAsync()).Member.Session);
        Assert.Equal(new PresenceStats(3, 2), await watcher.ReadPresenceStatsAsync(channel, CancellationToken.None));

        // Gone without a word: no stop, no removal; its heartbeat simply ends.
        dying.Dispose();
        // On a loaded machine the watcher's own heartbeat may stall past the short NodeTimeout too:
        // then it is taken for dead, its member leaves and joins again with its next heartbeat.
        // That is the rule working; what this test is about is the dying node's member.
        var leave = await handler.NextPresenceAsync();
        while (leave.Member.Session == "w")
        {
            leave = await handler.NextPresenceAsync();
        }

        Assert.False(leave.Joined);
        Assert.Equal("d1", leave.Member.Session);
        Assert.Equal("alice", leave.Member.User);
        await Timeouts.Until(async () => await watcher.ReadPresenceStatsAsync(channel, CancellationToken.None) == new PresenceStats(1, 1), "only the watcher's member left");
        Assert.Equal(["w"], (await watcher.ReadPresenceAsync(channel, 10, CancellationToken.None)).Members.Select(m => m.Session));
    }

    [Fact]
    public async Task A_node_whose_members_Redis_lost_adds_them_again_with_its_next_heartbeat()
    {
        var (broker, _, nodeId) = await StartAsync();
        var channel = NewChannel();
        await broker.AddPresenceAsync(channel, Member("s1", "alice"), announce: false, CancellationToken.None);
        await broker.AddPresenceAsync(channel, Member("s2", "bob"), announce: false, CancellationToken.None);

        await Server.ExecuteAsync("DEL", "pubsub:presence:" + nodeId + ":{" + channel + "}", "pubsub:presence-users:{" + channel + "}");

        await Timeouts.Until(async () => await broker.ReadPresenceStatsAsync(channel, CancellationToken.None) == new PresenceStats(2, 2), "the members back in Redis");
    }
}
