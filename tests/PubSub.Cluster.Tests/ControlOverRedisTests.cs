using Microsoft.Extensions.DependencyInjection;

namespace PubSub.Cluster.Tests;

/// <summary>
/// The control plane between two real nodes on a real Redis: disconnect, unsubscribe and subscribe
/// of a user whose sessions sit on the other node, on every transport, and the cluster-wide reads.
/// </summary>
public sealed class ControlOverRedisTests : IAsyncLifetime
{
    private RedisServer _redis = null!;
    private TestNode _asked = null!;
    private TestNode _holder = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _asked = await StartNodeAsync();
        _holder = await StartNodeAsync();
    }

    public async Task DisposeAsync()
    {
        await _asked.DisposeAsync();
        await _holder.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private Task<TestNode> StartNodeAsync() =>
        TestNode.StartAsync(services: b => b.AddRedisBroker(_redis.Configuration), host: h => h.Services.AddTestAuthentication());

    private IPubSubControl Control => _asked.Services.GetRequiredService<IPubSubControl>();

    [Theory, MemberData(nameof(RawSession.Transports), MemberType = typeof(RawSession))]
    public async Task A_users_sessions_on_the_other_node_are_subscribed_unsubscribed_and_disconnected(string transport)
    {
        await using var alice = await RawSession.OpenAsync(_holder.BaseUri, transport, "alice");

        var subscribed = await Control.SubscribeAsync(SessionTarget.User("alice"), "chat/redis-control");
        Assert.Equal(1, subscribed.Sessions);
        Assert.Equal("chat/redis-control", (await alice.NextOfTypeAsync("subscribed")).GetProperty("channel").GetString());
        await _asked.Publisher.PublishAsync("chat/redis-control", new { n = 1 });
        Assert.Equal(1, (await alice.NextOfTypeAsync("message")).GetProperty("offset").GetInt64());

        var channels = await Control.ChannelsAsync("chat/redis-*");
        Assert.Equal("chat/redis-control", Assert.Single(channels.Channels).Channel);

        var unsubscribed = await Control.UnsubscribeAsync(SessionTarget.User("alice"), "chat/redis-control");
        Assert.Equal(1, unsubscribed.Sessions);
        Assert.Equal("unsubscribed", (await alice.NextOfTypeAsync("unsubscribed")).GetProperty("code").GetString());

        var disconnected = await Control.DisconnectAsync(SessionTarget.Session(alice.SessionId), 4600, "gone for good");
        Assert.Equal(1, disconnected.Sessions);
        var disconnect = await alice.NextOfTypeAsync("disconnect");
        Assert.Equal(4600, disconnect.GetProperty("code").GetInt32());
        Assert.False(disconnect.GetProperty("reconnect").GetBoolean());
    }

    [Fact]
    public async Task Info_lists_both_nodes_and_a_stopped_node_drops_out()
    {
        var third = await StartNodeAsync();
        var thirdId = third.NodeId;
        var before = await Control.InfoAsync();
        await third.DisposeAsync();
        var after = await Control.InfoAsync();

        Assert.Equal(new[] { _asked.NodeId, _holder.NodeId, thirdId }.Order(), before.Nodes.Select(n => n.NodeId).Order());
        Assert.Equal(new[] { _asked.NodeId, _holder.NodeId }.Order(), after.Nodes.Select(n => n.NodeId).Order());
        Assert.Empty(after.UnansweredNodes);
    }

    [Fact]
    public async Task A_broadcast_and_an_idempotent_retry_go_through_redis()
    {
        var broadcast = await Control.BroadcastAsync(["news/r1", "news/r2"], Payload.FromValue(1), "b-1");
        var repeat = await _holder.Services.GetRequiredService<IPubSubControl>().BroadcastAsync(["news/r1", "news/r2"], Payload.FromValue(1), "b-1");

        Assert.All(broadcast.Channels, c => Assert.Equal(1, c.Position!.Value.Offset));
        Assert.Equal(broadcast.Channels.Select(c => c.Position), repeat.Channels.Select(c => c.Position));
    }
}
