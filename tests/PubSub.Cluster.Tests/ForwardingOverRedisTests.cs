using System.Net;
using Microsoft.Extensions.DependencyInjection;

namespace PubSub.Cluster.Tests;

/// <summary>
/// Sessions any node can serve, with the forwarding carried by real Redis between real nodes:
/// long-polling and SSE requests that land on the node that does not own the session, and a
/// native EventSource behind a load balancer without affinity.
/// </summary>
public sealed class ForwardingOverRedisTests : IAsyncLifetime
{
    private RedisServer _redis = null!;
    private TestNode _owner = null!;
    private TestNode _other = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _owner = await StartNodeAsync();
        _other = await StartNodeAsync();
    }

    public async Task DisposeAsync()
    {
        await _owner.DisposeAsync();
        await _other.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private Task<TestNode> StartNodeAsync() => TestNode.StartAsync(services: b => b.AddRedisBroker(_redis.Configuration));

    [Fact]
    public async Task A_long_polling_session_is_served_through_the_other_node()
    {
        using var poll = await PollClient.OpenAsync(_owner.BaseUri);
        poll.Via = _other.Http;

        Assert.Equal(HttpStatusCode.NoContent, await poll.SendAsync(new { type = "subscribe", id = 1, channel = "chat/redis-poll" }));
        Assert.Equal(1, (await poll.NextAsync()).GetProperty("id").GetInt64());
        var held = poll.PollAsync();
        await Timeouts.Until(() => _owner.IsPollHeld(poll.SessionId), "the owner to hold the forwarded poll");
        await _other.Publisher.PublishAsync("chat/redis-poll", new { n = 1 });
        var frames = await held.WithTimeout("the forwarded poll");

        Assert.Equal(1, Assert.Single(frames).GetProperty("offset").GetInt64());
        // A lost response is re-sent, whichever node the next poll reaches.
        var (_, resent) = await poll.RawPollAsync(poll.Received - 1, via: _owner.Http);
        Assert.Contains("\"offset\":1", resent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Frames_sent_to_the_other_node_for_an_sse_session_are_answered_on_its_stream()
    {
        await using var sse = await SseClient.ConnectAsync(_owner.BaseUri);

        var status = await SseClient.SendToAsync(_other.Http, sse.SessionId, [new { type = "subscribe", id = 9, channel = "chat/redis-sse" }]);
        var reply = await sse.NextAsync();
        await _other.Publisher.PublishAsync("chat/redis-sse", new { n = 1 });
        var message = await sse.NextOfTypeAsync("message");

        Assert.Equal(HttpStatusCode.NoContent, status);
        Assert.Equal(9, reply.Frame.GetProperty("id").GetInt64());
        Assert.Equal(1, message.Frame.GetProperty("offset").GetInt64());
    }

    [Fact]
    public async Task When_the_owner_stops_requests_through_the_other_node_get_session_not_found_at_once()
    {
        using var poll = await PollClient.OpenAsync(_owner.BaseUri);
        await _owner.DisposeAsync();

        var (status, body) = await poll.RawPollAsync(poll.Received, via: _other.Http);
        var send = await SseClient.SendToAsync(_other.Http, poll.SessionId, [new { type = "ping" }]);

        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("session_not_found", body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, send);
        _owner = await StartNodeAsync();
    }

    [Fact]
    public async Task A_poll_held_for_an_owner_that_drops_off_redis_is_answered_within_seconds_and_the_next_gets_session_not_found()
    {
        // The owner reaches Redis through a link the test cuts: to the other node and to Redis it
        // is as gone as a node killed with -9 (its pub/sub connection closes), though its process lives.
        await using var link = TcpProxy.Start(_redis.Port);
        await using var owner = await TestNode.StartAsync(services: b => b.AddRedisBroker(link.Configuration));
        using var poll = await PollClient.OpenAsync(owner.BaseUri);
        var held = poll.RawPollAsync(poll.Received, via: _other.Http);
        await Timeouts.Until(() => owner.IsPollHeld(poll.SessionId), "the owner to hold the forwarded poll");

        link.Cut();
        // Before, the other node waited for the poll timeout and 15 s more (40 s) before answering.
        var (status, body) = await held.WithTimeout("the other node to answer the poll the owner held", TestNode.ForwardingSilenceTimeout + TimeSpan.FromSeconds(5));
        var (next, nextBody) = await poll.RawPollAsync(poll.Received, via: _other.Http).WithTimeout("the next poll", TimeSpan.FromSeconds(5));

        // An empty answer is safe (nothing is acknowledged); the next poll learns the owner is gone.
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("", body);
        Assert.Equal(HttpStatusCode.NotFound, next);
        Assert.Contains("session_not_found", nextBody, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_native_event_source_behind_a_balancer_without_affinity_resumes_on_the_other_node()
    {
        await using var balancer = await HaProxy.StartAsync($$"""
            frontend clients
              bind 127.0.0.1:{port}
              default_backend nodes

            backend nodes
              balance roundrobin
              server a 127.0.0.1:{{_owner.BaseUri.Port}}
              server b 127.0.0.1:{{_other.BaseUri.Port}}
            """);
        await using var client = NodeScript.Start("eventsource-client.mjs", $"{balancer.BaseUri}pubsub/sse?channel=chat/redis-es");
        var (connected, _) = await client.NextWhereAsync(l => IsFrame(l, "connected"));
        await client.NextWhereAsync(l => IsFrame(l, "subscribed"));
        var first = connected.GetProperty("data");
        await _owner.Publisher.PublishAsync("chat/redis-es", new { n = 1 });
        var one = await NextOffsetAsync(client);

        (first.GetProperty("node").GetString() == _owner.NodeId ? _owner : _other).CloseSession(first.GetProperty("session").GetString()!);
        await _other.Publisher.PublishAsync("chat/redis-es", new { n = 2 });
        var (again, _) = await client.NextWhereAsync(l => IsFrame(l, "connected"));
        var (subscribed, _) = await client.NextWhereAsync(l => IsFrame(l, "subscribed"));
        var two = await NextOffsetAsync(client);
        await _owner.Publisher.PublishAsync("chat/redis-es", new { n = 3 });
        var three = await NextOffsetAsync(client);

        Assert.NotEqual(first.GetProperty("node").GetString(), again.GetProperty("data").GetProperty("node").GetString());
        Assert.True(subscribed.GetProperty("data").GetProperty("recovered").GetBoolean());
        Assert.Equal([1L, 2, 3], new[] { one, two, three });
    }

    [Fact]
    public async Task A_clients_pipelined_publishes_keep_their_order_through_redis()
    {
        await using var subscriber = await _other.ConnectAsync();
        await subscriber.SubscribeAsync("chat/redis-order");
        await using var publisher = await _owner.ConnectAsync();

        // 300 publishes in one message: the node issues them without waiting for Redis between them.
        await publisher.SendRawAsync(string.Join('\n', Enumerable.Range(1, 300).Select(i =>
            System.Text.Json.JsonSerializer.Serialize(new { type = "publish", channel = "chat/redis-order", data = i }))));
        var messages = await subscriber.MessagesAsync(300);

        Assert.Equal(Enumerable.Range(1, 300), messages.Select(m => m.GetProperty("data").GetInt32()));
        Assert.Equal(Enumerable.Range(1, 300).Select(i => (long)i), messages.Select(m => m.GetProperty("offset").GetInt64()));
    }

    private static bool IsFrame(System.Text.Json.JsonElement line, string type) =>
        line.TryGetProperty("data", out var data) && data.GetProperty("type").GetString() == type;

    private static async Task<long> NextOffsetAsync(NodeScript client) =>
        (await client.NextWhereAsync(l => IsFrame(l, "message"))).Match.GetProperty("data").GetProperty("offset").GetInt64();
}
