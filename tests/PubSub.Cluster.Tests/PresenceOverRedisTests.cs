using Microsoft.Extensions.DependencyInjection;

namespace PubSub.Cluster.Tests;

/// <summary>
/// Presence and join/leave between real nodes on a real redis-server: two nodes in process on
/// every transport, and a Host process killed with -9, whose members must leave presence (with
/// their leaves announced) within its node timeout.
/// </summary>
public sealed class PresenceOverRedisTests : IAsyncLifetime
{
    private RedisServer _redis = null!;
    private TestNode _first = null!;
    private TestNode _second = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _first = await StartNodeAsync();
        _second = await StartNodeAsync();
    }

    public async Task DisposeAsync()
    {
        await _first.DisposeAsync();
        await _second.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private Task<TestNode> StartNodeAsync() => TestNode.StartAsync(
        configure: o => o.Channel("room/{x}", c => c.Presence().JoinLeave()),
        services: b => b.AddRedisBroker(_redis.Configuration),
        host: h => h.Services.AddTestAuthentication());

    private static string NewChannel() => "room/" + Guid.NewGuid().ToString("N")[..8];

    [Theory, MemberData(nameof(RawSession.Transports), MemberType = typeof(RawSession))]
    public async Task Presence_and_join_leave_span_both_nodes_through_redis(string transport)
    {
        var channel = NewChannel();
        await using var alice = await RawSession.OpenAsync(_first.BaseUri, transport, "alice");
        await alice.SubscribeAsync(channel);
        var bob = await RawSession.OpenAsync(_second.BaseUri, "websocket", "bob");
        await bob.SubscribeAsync(channel);

        var join = await alice.NextOfTypeAsync("join");
        var presence = (await alice.RequestAsync("presence", channel)).GetProperty("result");
        var stats = await _second.Services.GetRequiredService<IPubSubControl>().PresenceStatsAsync(channel);
        await bob.DisposeAsync();
        var leave = await alice.NextOfTypeAsync("leave");

        Assert.Equal(bob.SessionId, join.GetProperty("session").GetString());
        Assert.Equal("bob", join.GetProperty("user").GetString());
        Assert.Equal(
            new[] { alice.SessionId, bob.SessionId }.Order(StringComparer.Ordinal),
            presence.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("session").GetString()!).Order(StringComparer.Ordinal));
        Assert.Equal(new PresenceStats(2, 2), stats);
        Assert.Equal(bob.SessionId, leave.GetProperty("session").GetString());
        Assert.Equal(new PresenceStats(1, 1), await _first.Services.GetRequiredService<IPubSubControl>().PresenceStatsAsync(channel));
    }

    [Fact]
    public async Task A_node_killed_with_minus_9_leaves_presence_within_its_node_timeout_and_its_clients_leaves_are_announced()
    {
        var channel = NewChannel();
        await using var host = await HostProcess.StartAsync(new Dictionary<string, string>
        {
            ["PubSub__Redis__Configuration"] = _redis.Configuration,
            // The bound: a dead node's members go once its entry, renewed every heartbeat, is NodeTimeout old.
            ["PubSub__Redis__NodeTimeout"] = "00:00:03",
            ["PubSub__Redis__NodeHeartbeatInterval"] = "00:00:00.500",
            ["PubSub__Channels__2__Template"] = "room/{x}",
            ["PubSub__Channels__2__Presence"] = "true",
            ["PubSub__Channels__2__JoinLeave"] = "true",
        });
        await using var watcher = await RawSession.OpenAsync(_first.BaseUri, "websocket", "watcher");
        await watcher.SubscribeAsync(channel);
        await using var doomed = await WsClient.ConnectAsync(new Uri($"ws://{host.BaseUri.Authority}/pubsub/ws"));
        await doomed.SubscribeAsync(channel);
        Assert.Equal(doomed.SessionId, (await watcher.NextOfTypeAsync("join")).GetProperty("session").GetString());
        Assert.Equal(new PresenceStats(2, 1), await _first.Services.GetRequiredService<IPubSubControl>().PresenceStatsAsync(channel));

        await host.DisposeAsync();
        var leave = await watcher.NextOfTypeAsync("leave");

        Assert.Equal(doomed.SessionId, leave.GetProperty("session").GetString());
        Assert.False(leave.TryGetProperty("user", out _));
        var presence = await _second.Services.GetRequiredService<IPubSubControl>().PresenceAsync(channel);
        Assert.Equal([watcher.SessionId], presence.Members.Select(m => m.Session));
    }
}
