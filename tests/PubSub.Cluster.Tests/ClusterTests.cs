using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace PubSub.Cluster.Tests;

/// <summary>
/// Several real nodes (Kestrel on loopback) sharing real Redis servers, with real WebSocket
/// clients: what a deployment behind a load balancer without session affinity relies on.
/// </summary>
public sealed class ClusterTests : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _resources = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        // Clients first, then nodes, then Redis.
        _resources.Reverse();
        foreach (var resource in _resources)
        {
            await resource.DisposeAsync();
        }
    }

    private async Task<RedisServer> StartRedisAsync()
    {
        var redis = await RedisServer.StartAsync();
        _resources.Add(redis);
        return redis;
    }

    private Task<TestNode> StartNodeAsync(params RedisServer[] shards) => StartNodeAsync([.. shards.Select(s => s.Configuration)]);

    private async Task<TestNode> StartNodeAsync(params string[] shards)
    {
        var node = await TestNode.StartAsync(services: b => b.AddRedisBroker(o =>
        {
            foreach (var shard in shards)
            {
                o.Shards.Add(shard);
            }
            o.ReconnectInterval = TimeSpan.FromMilliseconds(100);
            o.RecoveryRetryInterval = TimeSpan.FromMilliseconds(100);
            o.ConnectTimeout = TimeSpan.FromSeconds(2);
        }));
        _resources.Add(node);
        return node;
    }

    private async Task<WsClient> ConnectAsync(TestNode node)
    {
        var client = await node.ConnectAsync();
        _resources.Add(client);
        return client;
    }

    private static (long Offset, string Epoch, string Data) Describe(JsonElement message) =>
        (message.GetProperty("offset").GetInt64(), message.GetProperty("epoch").GetString()!, message.GetProperty("data").GetRawText());

    /// <summary>Publishes through a node's API, retrying while the node reconnects to a restarted Redis.</summary>
    private static async Task<JsonElement> PublishWhenReachableAsync(TestNode node, string channel, object data)
    {
        for (var attempt = 0; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "api/publish") { Content = JsonContent.Create(new { channel, data }) };
            request.Headers.Add("X-API-Key", TestNode.ApiKey);
            using var response = await node.Http.SendAsync(request);
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || attempt >= 300)
            {
                response.EnsureSuccessStatusCode();
                return await response.Content.ReadFromJsonAsync<JsonElement>();
            }
            // Paces the retries of this bounded loop; nothing waits on its timing.
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task Publications_from_any_node_reach_clients_on_every_node_with_the_same_offsets_in_the_same_order()
    {
        var redis = await StartRedisAsync();
        var nodes = new[] { await StartNodeAsync(redis), await StartNodeAsync(redis), await StartNodeAsync(redis) };
        var clients = new List<WsClient>();
        foreach (var node in nodes)
        {
            var client = await ConnectAsync(node);
            await client.SubscribeAsync("chat/fanout");
            clients.Add(client);
        }
        var publisher = await ConnectAsync(nodes[0]);

        // Three publishers at once, on three nodes: a client, the HTTP API, the in-process API.
        await Task.WhenAll(
            Task.Run(async () =>
            {
                for (var i = 0; i < 10; i++)
                {
                    await publisher.PublishAsync("chat/fanout", new { from = "client", i });
                }
            }),
            Task.Run(async () =>
            {
                for (var i = 0; i < 10; i++)
                {
                    await nodes[1].PublishViaApiAsync("chat/fanout", new { from = "api", i });
                }
            }),
            Task.Run(async () =>
            {
                for (var i = 0; i < 10; i++)
                {
                    await nodes[2].Publisher.PublishAsync("chat/fanout", Payload.FromValue(new { from = "server", i }));
                }
            }));

        var seen = new List<List<(long Offset, string Epoch, string Data)>>();
        foreach (var client in clients)
        {
            seen.Add([.. (await client.MessagesAsync(30)).Select(Describe)]);
        }
        Assert.Equal(Enumerable.Range(1, 30).Select(i => (long)i), seen[0].Select(m => m.Offset));
        Assert.Equal(seen[0], seen[1]);
        Assert.Equal(seen[0], seen[2]);
        Assert.Equal(10, seen[0].Count(m => m.Data.Contains("\"client\"", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_client_that_reconnects_to_another_node_recovers_what_it_missed_there()
    {
        var redis = await StartRedisAsync();
        var a = await StartNodeAsync(redis);
        var b = await StartNodeAsync(redis);
        var first = await ConnectAsync(a);
        await first.SubscribeAsync("chat/recover");
        for (var i = 1; i <= 3; i++)
        {
            await b.PublishViaApiAsync("chat/recover", new { i });
        }
        var last = (await first.MessagesAsync(3))[^1];
        await first.CloseAsync();

        for (var i = 4; i <= 8; i++)
        {
            await b.PublishViaApiAsync("chat/recover", new { i });
        }
        var second = await ConnectAsync(b);
        var result = await second.SubscribeAsync("chat/recover", last.GetProperty("epoch").GetString(), last.GetProperty("offset").GetInt64());
        var missed = await second.MessagesAsync(5);
        await a.PublishViaApiAsync("chat/recover", new { i = 9 });
        var live = await second.NextOfTypeAsync("message");

        Assert.True(result.GetProperty("recovered").GetBoolean());
        Assert.Equal(8, result.GetProperty("offset").GetInt64());
        Assert.Equal([4L, 5, 6, 7, 8, 9], missed.Append(live).Select(m => m.GetProperty("offset").GetInt64()));
        Assert.Equal([4, 5, 6, 7, 8, 9], missed.Append(live).Select(m => m.GetProperty("data").GetProperty("i").GetInt32()));
    }

    [Fact]
    public async Task A_client_on_a_node_cut_off_from_redis_gets_everything_published_meanwhile_once_in_order()
    {
        var redis = await StartRedisAsync();
        var link = TcpProxy.Start(redis.Port);
        _resources.Add(link);
        var cutOff = await StartNodeAsync(link.Configuration);
        var other = await StartNodeAsync(redis);
        var client = await ConnectAsync(cutOff);
        await client.SubscribeAsync("chat/cut");
        await other.PublishViaApiAsync("chat/cut", new { i = 1 });
        await client.NextOfTypeAsync("message");

        link.Cut();
        for (var i = 2; i <= 21; i++)
        {
            await other.PublishViaApiAsync("chat/cut", new { i });
        }
        link.Restore();
        var recovered = await client.MessagesAsync(20);
        await other.PublishViaApiAsync("chat/cut", new { i = 22 });
        var live = await client.NextOfTypeAsync("message");

        Assert.Equal(Enumerable.Range(2, 21), recovered.Append(live).Select(m => m.GetProperty("data").GetProperty("i").GetInt32()));
        Assert.Equal(Enumerable.Range(2, 21).Select(i => (long)i), recovered.Append(live).Select(m => m.GetProperty("offset").GetInt64()));
    }

    [Fact]
    public async Task After_redis_restarted_empty_a_subscribed_client_gets_the_new_epoch_and_a_returning_one_recovered_false()
    {
        var redis = await StartRedisAsync();
        var a = await StartNodeAsync(redis);
        var b = await StartNodeAsync(redis);
        var staying = await ConnectAsync(a);
        var leaving = await ConnectAsync(b);
        await staying.SubscribeAsync("chat/epoch");
        await leaving.SubscribeAsync("chat/epoch");
        await a.PublishViaApiAsync("chat/epoch", new { i = 1 });
        var before = Describe(await staying.NextOfTypeAsync("message"));
        var position = Describe(await leaving.NextOfTypeAsync("message"));
        await leaving.CloseAsync();

        await redis.RestartEmptyAsync();
        var published = await PublishWhenReachableAsync(b, "chat/epoch", new { i = 2 });
        var live = Describe(await staying.NextOfTypeAsync("message"));
        var returning = await ConnectAsync(b);
        var result = await returning.SubscribeAsync("chat/epoch", position.Epoch, position.Offset);

        Assert.NotEqual(before.Epoch, published.GetProperty("epoch").GetString());
        Assert.Equal((1L, published.GetProperty("epoch").GetString()!, """{"i":2}"""), live);
        Assert.False(result.GetProperty("recovered").GetBoolean());
        Assert.Equal(live.Epoch, result.GetProperty("epoch").GetString());
        Assert.Equal(1, result.GetProperty("offset").GetInt64());
    }

    [Fact]
    public async Task While_redis_is_down_publishing_fails_with_unavailable_and_the_session_carries_on()
    {
        var redis = await StartRedisAsync();
        var a = await StartNodeAsync(redis);
        var client = await ConnectAsync(a);
        await client.SubscribeAsync("chat/down");

        await redis.KillAsync();
        var reply = await client.RequestAsync(new() { ["type"] = "publish", ["channel"] = "chat/down", ["data"] = new { i = 1 } });
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/publish") { Content = JsonContent.Create(new { channel = "chat/down", data = new { i = 1 } }) };
        request.Headers.Add("X-API-Key", TestNode.ApiKey);
        using var response = await a.Http.SendAsync(request);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        await client.PingAsync();
        await redis.StartAgainAsync();
        var published = await PublishWhenReachableAsync(a, "chat/down", new { i = 2 });
        var message = await client.NextOfTypeAsync("message", "pong");

        Assert.Equal("unavailable", reply.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("unavailable", body.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(published.GetProperty("offset").GetInt64(), message.GetProperty("offset").GetInt64());
        Assert.Equal(2, message.GetProperty("data").GetProperty("i").GetInt32());
    }

    [Fact]
    public async Task Channels_spread_over_two_redis_shards_reach_clients_on_the_other_node()
    {
        var first = await StartRedisAsync();
        var second = await StartRedisAsync();
        var a = await StartNodeAsync(first, second);
        var b = await StartNodeAsync(first, second);
        var client = await ConnectAsync(a);
        var channels = Enumerable.Range(0, 12).Select(i => $"chat/shard-{i}").ToList();
        foreach (var channel in channels)
        {
            await client.SubscribeAsync(channel);
        }

        foreach (var channel in channels)
        {
            await b.PublishViaApiAsync(channel, new { channel });
        }
        var messages = await client.MessagesAsync(channels.Count);

        // Order holds per channel; channels on different shards arrive over different connections.
        Assert.Equal(channels.Order(), messages.Select(m => m.GetProperty("channel").GetString()).Order());
        Assert.All(messages, m => Assert.Equal(m.GetProperty("channel").GetString(), m.GetProperty("data").GetProperty("channel").GetString()));
        var onFirst = ((object?[])(await first.ExecuteAsync("KEYS", "pubsub:meta:{chat/shard-*}"))!).Length;
        var onSecond = ((object?[])(await second.ExecuteAsync("KEYS", "pubsub:meta:{chat/shard-*}"))!).Length;
        Assert.Equal(channels.Count, onFirst + onSecond);
        Assert.True(onFirst > 0 && onSecond > 0, $"{onFirst} channels on the first shard, {onSecond} on the second");
    }
}
