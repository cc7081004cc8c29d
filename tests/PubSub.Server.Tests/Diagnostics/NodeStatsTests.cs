using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace PubSub.Server.Tests.Diagnostics;

/// <summary>
/// MapPubSubStats, the dashboard's numbers: what real WebSocket, SSE and long-polling clients on a
/// real node add up to, the busiest channels only, and the key that guards it.
/// </summary>
public sealed class NodeStatsTests
{
    private static Task<TestNode> StartAsync(int maxChannels = PubSubStatsEndpointRouteBuilderExtensions.DefaultMaxChannels) =>
        TestNode.StartAsync(map: app =>
        {
            app.MapPubSub("/pubsub");
            app.MapPubSubApi("/api");
            app.MapPubSubStats("/stats", maxChannels);
        });

    private static async Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(TestNode node, string? key, string path = "stats")
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (key is not null)
        {
            request.Headers.Add("X-API-Key", key);
        }
        using var response = await node.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length > 0 ? JsonDocument.Parse(text).RootElement.Clone() : default);
    }

    private static async Task<JsonElement> StatsAsync(TestNode node, string path = "stats")
    {
        var (status, body) = await GetAsync(node, TestNode.ApiKey, path);
        Assert.Equal(HttpStatusCode.OK, status);
        return body;
    }

    [Fact]
    public async Task Stats_count_sessions_by_transport_channels_by_subscribers_and_accepted_publications_and_deliveries()
    {
        await using var node = await StartAsync();
        await using var ws1 = await node.ConnectAsync();
        await using var ws2 = await node.ConnectAsync();
        await ws1.SubscribeAsync("chat/busy");
        await ws2.SubscribeAsync("chat/busy");
        await ws2.SubscribeAsync("chat/quiet");
        await using var sse = await SseClient.ConnectAsync(node.BaseUri, "?channel=chat/busy");
        await sse.NextOfTypeAsync("subscribed");
        using var poll = await PollClient.OpenAsync(node.BaseUri);

        for (var i = 1; i <= 3; i++)
        {
            await node.PublishViaApiAsync("chat/busy", new { i });
        }
        // A refused publish is not counted.
        using var refused = new HttpRequestMessage(HttpMethod.Post, "api/publish") { Content = System.Net.Http.Json.JsonContent.Create(new { channel = "nowhere/x", data = 1 }) };
        refused.Headers.Add("X-API-Key", TestNode.ApiKey);
        using (var answer = await node.Http.SendAsync(refused))
        {
            Assert.Equal(HttpStatusCode.NotFound, answer.StatusCode);
        }
        await ws1.MessagesAsync(3);
        await ws2.MessagesAsync(3);
        await sse.MessagesAsync(3);
        // A write is counted once it completes, which can be after the client has read it.
        await Timeouts.Until(async () => (await StatsAsync(node)).GetProperty("totals").GetProperty("deliveries").GetInt64() == 9, "nine deliveries counted");

        var stats = await StatsAsync(node);
        var self = stats.GetProperty("node");
        Assert.Equal(node.NodeId, self.GetProperty("id").GetString());
        Assert.Equal("MemoryBroker", self.GetProperty("broker").GetString());
        Assert.True(self.GetProperty("ready").GetBoolean());
        Assert.True(self.GetProperty("uptimeMs").GetInt64() >= 0);
        Assert.Equal("cluster", stats.GetProperty("nodes").GetProperty("scope").GetString());
        Assert.Equal([node.NodeId], stats.GetProperty("nodes").GetProperty("ids").EnumerateArray().Select(e => e.GetString()));

        var sessions = stats.GetProperty("sessions");
        Assert.Equal(4, sessions.GetProperty("total").GetInt32());
        Assert.Equal(2, sessions.GetProperty("byTransport").GetProperty("websocket").GetInt32());
        Assert.Equal(1, sessions.GetProperty("byTransport").GetProperty("sse").GetInt32());
        Assert.Equal(1, sessions.GetProperty("byTransport").GetProperty("long-polling").GetInt32());

        var channels = stats.GetProperty("channels");
        Assert.Equal(2, channels.GetProperty("total").GetInt32());
        Assert.Equal(4, channels.GetProperty("subscriptions").GetInt32());
        Assert.Equal(
            [("chat/busy", 3), ("chat/quiet", 1)],
            channels.GetProperty("top").EnumerateArray().Select(c => (c.GetProperty("name").GetString(), c.GetProperty("subscribers").GetInt32())));

        Assert.Equal(3, stats.GetProperty("totals").GetProperty("publications").GetInt64());
        Assert.True(stats.GetProperty("totals").GetProperty("bytesSent").GetInt64() > 0);
    }

    [Fact]
    public async Task Only_the_channels_with_the_most_subscribers_are_listed_up_to_the_limit_and_fewer_on_request()
    {
        await using var node = await StartAsync(maxChannels: 2);
        var clients = new List<WsClient>();
        try
        {
            // chat/c3 has 3 subscribers, chat/c2 has 2, chat/c1 and chat/c0 one each.
            for (var i = 0; i < 3; i++)
            {
                var client = await node.ConnectAsync();
                clients.Add(client);
                for (var c = 0; c <= 3; c++)
                {
                    if (c > i || (c == 0 && i == 0))
                    {
                        await client.SubscribeAsync($"chat/c{c}");
                    }
                }
            }

            var all = await StatsAsync(node);
            var one = await StatsAsync(node, "stats?channels=1");
            var tooMany = await StatsAsync(node, "stats?channels=500");

            Assert.Equal(4, all.GetProperty("channels").GetProperty("total").GetInt32());
            Assert.Equal(["chat/c3", "chat/c2"], Names(all));
            Assert.Equal(2, all.GetProperty("channels").GetProperty("limit").GetInt32());
            Assert.Equal(["chat/c3"], Names(one));
            Assert.Equal(["chat/c3", "chat/c2"], Names(tooMany));
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }

        static IEnumerable<string?> Names(JsonElement stats) =>
            stats.GetProperty("channels").GetProperty("top").EnumerateArray().Select(c => c.GetProperty("name").GetString());
    }

    [Fact]
    public async Task Without_the_key_or_with_a_wrong_one_the_stats_answer_401_and_the_nodes_clients_are_served_on()
    {
        await using var node = await StartAsync();
        await using var client = await node.ConnectAsync();
        await client.SubscribeAsync("chat/guarded");

        var (missing, missingBody) = await GetAsync(node, key: null);
        var (wrong, wrongBody) = await GetAsync(node, key: "not-the-key");
        await node.PublishViaApiAsync("chat/guarded", new { n = 1 });

        Assert.Equal(HttpStatusCode.Unauthorized, missing);
        Assert.Equal("unauthorized", missingBody.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, wrong);
        Assert.Equal("unauthorized", wrongBody.GetProperty("error").GetProperty("code").GetString());
        Assert.False(missingBody.TryGetProperty("node", out _));
        Assert.Equal(1, (await client.NextOfTypeAsync("message")).GetProperty("data").GetProperty("n").GetInt32());
        Assert.Equal(1, (await StatsAsync(node)).GetProperty("sessions").GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task With_a_policy_instead_of_a_key_the_stats_serve_the_callers_that_satisfy_it_and_without_either_they_are_closed()
    {
        await using var node = await TestNode.StartAsync(
            o => o.ApiKey = null,
            host: h =>
            {
                h.Services.AddTestAuthentication();
                h.Services.AddAuthorizationBuilder().AddPolicy("operators", p => p.RequireRole("operator"));
            },
            map: app =>
            {
                app.MapPubSub("/pubsub");
                app.MapPubSubStats("/stats").RequireAuthorization("operators");
                app.MapPubSubStats("/open");
            });

        using var asOperator = new HttpRequestMessage(HttpMethod.Get, "stats");
        asOperator.Headers.Add(TestAuthenticationHandler.UserHeader, "ops");
        asOperator.Headers.Add(TestAuthenticationHandler.RolesHeader, "operator");
        using var operatorAnswer = await node.Http.SendAsync(asOperator);
        var (anonymous, _) = await GetAsync(node, key: null);
        var (unguarded, unguardedBody) = await GetAsync(node, key: null, path: "open");

        Assert.Equal(HttpStatusCode.OK, operatorAnswer.StatusCode);
        Assert.Equal(node.NodeId, JsonDocument.Parse(await operatorAnswer.Content.ReadAsStringAsync()).RootElement.GetProperty("node").GetProperty("id").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous);
        Assert.Equal(HttpStatusCode.Forbidden, unguarded);
        Assert.Equal("forbidden", unguardedBody.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task The_totals_are_this_nodes_only_when_nodes_share_a_process()
    {
        await using var other = await TestNode.StartAsync();
        await using var node = await StartAsync();
        await using var client = await other.ConnectAsync();
        await client.SubscribeAsync("chat/elsewhere");

        await other.PublishViaApiAsync("chat/elsewhere", new { n = 1 });
        await client.NextOfTypeAsync("message");
        await node.PublishViaApiAsync("chat/here", new { n = 1 });

        var totals = (await StatsAsync(node)).GetProperty("totals");
        Assert.Equal(1, totals.GetProperty("publications").GetInt64());
        Assert.Equal(0, totals.GetProperty("deliveries").GetInt64());
    }
    [Fact]
    public async Task Nodes_and_channels_are_listed_for_all_nodes_on_the_broker_while_the_counts_stay_this_nodes()
    {
        using var backplane = new MemoryBackplane();
        await using var other = await TestNode.StartAsync(services: b => b.AddMemoryBroker(backplane));
        await using var node = await TestNode.StartAsync(services: b => b.AddMemoryBroker(backplane), map: app =>
        {
            app.MapPubSub("/pubsub");
            app.MapPubSubApi("/api");
            app.MapPubSubStats("/stats");
        });
        await using var there = await other.ConnectAsync();
        await using var thereToo = await other.ConnectAsync();
        await using var here = await node.ConnectAsync();
        await there.SubscribeAsync("chat/shared");
        await thereToo.SubscribeAsync("chat/shared");
        await thereToo.SubscribeAsync("chat/elsewhere");
        await here.SubscribeAsync("chat/shared");

        var stats = await StatsAsync(node);

        var nodes = stats.GetProperty("nodes");
        Assert.Equal("cluster", nodes.GetProperty("scope").GetString());
        Assert.Equal(new[] { node.NodeId, other.NodeId }.Order(StringComparer.Ordinal), nodes.GetProperty("ids").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(
            new[] { (node.NodeId, 1), (other.NodeId, 2) }.OrderBy(n => n.Item1, StringComparer.Ordinal),
            nodes.GetProperty("list").EnumerateArray().Select(n => (n.GetProperty("id").GetString()!, n.GetProperty("sessions").GetInt32())));
        Assert.Empty(nodes.GetProperty("unanswered").EnumerateArray());
        var channels = stats.GetProperty("channels");
        Assert.Equal(1, channels.GetProperty("total").GetInt32());
        Assert.Equal(1, stats.GetProperty("sessions").GetProperty("total").GetInt32());
        var cluster = channels.GetProperty("cluster");
        Assert.Equal(2, cluster.GetProperty("total").GetInt32());
        Assert.Equal(
            [("chat/shared", 3), ("chat/elsewhere", 1)],
            cluster.GetProperty("top").EnumerateArray().Select(c => (c.GetProperty("name").GetString(), c.GetProperty("subscribers").GetInt32())));
    }
    [Fact]
    public async Task While_the_broker_cannot_list_the_nodes_the_stats_show_this_node_only_and_still_answer()
    {
        await using var node = await TestNode.StartAsync(
            services: b => b.Services.Replace(ServiceDescriptor.Singleton<IBroker>(new NodelessBroker())),
            map: app => app.MapPubSubStats("/stats"));

        var stats = await StatsAsync(node);

        var nodes = stats.GetProperty("nodes");
        Assert.Equal("this-node", nodes.GetProperty("scope").GetString());
        Assert.Equal([node.NodeId], nodes.GetProperty("ids").EnumerateArray().Select(e => e.GetString()));
        Assert.False(nodes.TryGetProperty("list", out _));
        Assert.False(stats.GetProperty("channels").TryGetProperty("cluster", out _));
    }

    /// <summary>A memory broker whose list of live nodes cannot be read, as a Redis that is down.</summary>
    private sealed class NodelessBroker : MemoryBrokerDecorator
    {
        public override ValueTask<IReadOnlyList<string>> GetNodesAsync(CancellationToken cancellationToken) =>
            ValueTask.FromException<IReadOnlyList<string>>(new PubSubException(PubSubErrorCodes.Unavailable, "The broker is down."));
    }
}
