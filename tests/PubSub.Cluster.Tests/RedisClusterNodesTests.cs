using System.Net;
using Microsoft.Extensions.DependencyInjection;

namespace PubSub.Cluster.Tests;

/// <summary>
/// Two real nodes on a real Redis Cluster (three masters with a replica each), with real clients:
/// channels spread over the cluster's slots reach clients on both nodes with the same offsets, and
/// a session is served through the node that does not own it (node messages over sharded pub/sub).
/// </summary>
public sealed class RedisClusterNodesTests : IAsyncLifetime
{
    private RedisCluster _cluster = null!;
    private TestNode _a = null!;
    private TestNode _b = null!;

    public async Task InitializeAsync()
    {
        _cluster = await RedisCluster.StartAsync();
        _a = await StartNodeAsync();
        _b = await StartNodeAsync();
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        await _cluster.DisposeAsync();
    }

    private Task<TestNode> StartNodeAsync() => TestNode.StartAsync(services: b => b.AddRedisBroker(o =>
    {
        o.Configuration = _cluster.Configuration;
        o.Mode = RedisMode.Cluster;
    }), host: h => h.Services.AddTestAuthentication());

    [Fact]
    public async Task A_publish_retried_with_its_idempotency_key_on_the_other_node_is_published_once_on_every_master()
    {
        // Enough channels that every master holds some of the keys.
        var channels = Enumerable.Range(0, 12).Select(i => $"chat/once-{i}").ToList();
        foreach (var channel in channels)
        {
            var first = await _a.Publisher.PublishAsync(channel, Payload.FromValue(1), "retry-1");
            var retried = await _b.Publisher.PublishAsync(channel, Payload.FromValue(1), "retry-1");
            var history = await _b.Publisher.GetHistoryAsync(channel);

            Assert.Equal(first, retried);
            Assert.Single(history.Publications);
        }
    }

    [Fact]
    public async Task Disconnecting_a_user_reaches_their_sessions_on_the_other_node_and_info_lists_both_nodes()
    {
        await using var alice = await RawSession.OpenAsync(_b.BaseUri, "websocket", "alice");
        await using var onA = await RawSession.OpenAsync(_a.BaseUri, "long-polling", "alice");
        var control = _a.Services.GetRequiredService<IPubSubControl>();

        var info = await control.InfoAsync();
        var result = await control.DisconnectAsync(SessionTarget.User("alice"));
        var disconnect = await alice.NextOfTypeAsync("disconnect");

        Assert.Equal(new[] { _a.NodeId, _b.NodeId }.Order(), info.Nodes.Select(n => n.NodeId).Order());
        Assert.Equal(2, result.Sessions);
        Assert.Empty(result.UnansweredNodes);
        Assert.Equal(4500, disconnect.GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task Channels_on_every_master_reach_clients_on_both_nodes_with_the_same_offsets()
    {
        await using var onA = await _a.ConnectAsync();
        await using var onB = await _b.ConnectAsync();
        // Enough channels that every master serves some.
        var channels = Enumerable.Range(0, 12).Select(i => $"chat/cluster-{i}").ToList();
        foreach (var channel in channels)
        {
            await onA.SubscribeAsync(channel);
            await onB.SubscribeAsync(channel);
        }
        var masters = new HashSet<string>();
        foreach (var channel in channels)
        {
            masters.Add((await _cluster.MasterForAsync("pubsub:meta:{" + channel + "}")).Id);
        }

        foreach (var channel in channels)
        {
            await _a.PublishViaApiAsync(channel, new { channel });
            await _b.PublishViaApiAsync(channel, new { channel });
        }
        var seenByA = await onA.MessagesAsync(2 * channels.Count);
        var seenByB = await onB.MessagesAsync(2 * channels.Count);

        Assert.Equal(_cluster.Masters.Count, masters.Count);
        static IEnumerable<string> Describe(IEnumerable<System.Text.Json.JsonElement> messages) =>
            messages.Select(m => $"{m.GetProperty("channel").GetString()}:{m.GetProperty("offset").GetInt64()}").Order();
        Assert.Equal(channels.SelectMany(c => new[] { $"{c}:1", $"{c}:2" }).Order(), Describe(seenByA));
        Assert.Equal(Describe(seenByA), Describe(seenByB));
    }

    [Fact]
    public async Task A_long_polling_session_is_served_through_the_node_that_does_not_own_it()
    {
        using var poll = await PollClient.OpenAsync(_a.BaseUri, "?channel=chat/cluster-poll");
        await poll.NextOfTypeAsync("subscribed");
        poll.Via = _b.Http;

        var held = poll.PollAsync();
        await Timeouts.Until(() => _a.IsPollHeld(poll.SessionId), "the owner to hold the forwarded poll");
        await _b.PublishViaApiAsync("chat/cluster-poll", new { n = 1 });
        var frames = await held.WithTimeout("the forwarded poll");
        var sent = await SseClient.SendToAsync(_b.Http, poll.SessionId, [new { type = "ping", id = 7 }]);

        Assert.Equal(1, Assert.Single(frames).GetProperty("offset").GetInt64());
        Assert.Equal(HttpStatusCode.NoContent, sent);
        Assert.Equal(7, (await poll.NextOfTypeAsync("reply", "message")).GetProperty("id").GetInt64());
    }
}
