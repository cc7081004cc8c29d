using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace PubSub.Server.Tests.Limits;

/// <summary>
/// Each of <see cref="PubSubLimits"/>: what the refused client sees (the status or error code and
/// a message that names the limit), that the refusal is counted in <c>pubsub.limit.refusals</c>,
/// and that the clients already connected go on unaffected. Rates are set so low (one token per
/// thousand seconds) that no token comes back while a test runs: the outcome depends on counts,
/// never on timing.
/// </summary>
public sealed class LimitTests
{
    private const double OnePerThousandSeconds = 0.001;

    [Fact]
    public async Task A_full_node_refuses_the_next_connect_with_503_over_capacity_and_takes_one_again_when_a_place_frees()
    {
        await using var node = await TestNode.StartAsync(o => o.Limits.MaxConnections = 2);
        using var refusals = node.CollectMetric<long>("pubsub.limit.refusals");
        await using var first = await node.ConnectAsync();
        var second = await node.ConnectAsync();
        await first.SubscribeAsync("chat/a");

        var (status, _) = await WsClient.RefusedUpgradeAsync(node.WebSocketUri);
        var (sseStatus, body, _) = await SseClient.TryConnectAsync(node.BaseUri, "?channel=chat/a");
        await node.PublishViaApiAsync("chat/a", new { n = 1 });

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, sseStatus);
        AssertError(body, "over_capacity", "This node holds as many connections as it may (2); try again, another node may take it.");
        Assert.Equal(1, (await first.NextOfTypeAsync("message")).GetProperty("data").GetProperty("n").GetInt32());
        Assert.Equal(2, refusals.Sum(("pubsub.limit", "connections.node")));

        await second.DisposeAsync();
        await WaitForSessionsAsync(node, 1);
        await using var third = await node.ConnectAsync();
    }

    [Fact]
    public async Task A_user_with_as_many_sessions_as_allowed_gets_429_while_other_users_connect()
    {
        await using var node = await TestNode.StartAsync(o => o.Limits.MaxConnectionsPerUser = 1, host: h => h.Services.AddTestAuthentication());
        using var refusals = node.CollectMetric<long>("pubsub.limit.refusals");
        await using var alice = await node.ConnectAsAsync("alice");

        var (status, _) = await WsClient.RefusedUpgradeAsync(node.WebSocketUri, o => o.SetRequestHeader(TestAuthenticationHandler.UserHeader, "alice"));
        var (sseStatus, body, _) = await SseClient.TryConnectAsync(node.BaseUri, "?channel=chat/a", configure: r => r.Headers.Add(TestAuthenticationHandler.UserHeader, "alice"));
        await using var bob = await node.ConnectAsAsync("bob");
        // Anonymous clients are counted by address only.
        await using var anonymous1 = await node.ConnectAsAsync(null);
        await using var anonymous2 = await node.ConnectAsAsync(null);

        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        Assert.Equal(HttpStatusCode.TooManyRequests, sseStatus);
        AssertError(body, "too_many_connections", "This user holds as many connections to this node as it may (1).");
        Assert.Equal(2, refusals.Sum(("pubsub.limit", "connections.user")));
    }

    [Fact]
    public async Task An_address_with_as_many_sessions_as_allowed_gets_429_on_every_transport()
    {
        await using var node = await TestNode.StartAsync(o => o.Limits.MaxConnectionsPerIp = 2);
        using var refusals = node.CollectMetric<long>("pubsub.limit.refusals");
        await using var ws = await node.ConnectAsync();
        await using var sse = await SseClient.ConnectAsync(node.BaseUri, "?channel=chat/a");
        await sse.NextOfTypeAsync("subscribed");

        var (status, _) = await WsClient.RefusedUpgradeAsync(node.WebSocketUri);
        using var poll = await node.Http.GetAsync("pubsub/poll?channel=chat/a");
        var body = await poll.Content.ReadAsStringAsync();
        await node.PublishViaApiAsync("chat/a", new { n = 1 });

        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        Assert.Equal(HttpStatusCode.TooManyRequests, poll.StatusCode);
        AssertError(body, "too_many_connections", "This address holds as many connections to this node as it may (2).");
        Assert.Equal(1, (await sse.NextOfTypeAsync("message")).Frame.GetProperty("data").GetProperty("n").GetInt32());
        Assert.Equal(2, refusals.Sum(("pubsub.limit", "connections.ip")));
    }

    [Fact]
    public async Task A_flood_of_connects_from_one_address_is_refused_with_429_and_Retry_After_past_the_burst()
    {
        await using var node = await TestNode.StartAsync(o =>
        {
            o.Limits.ConnectsPerSecondPerIp = OnePerThousandSeconds;
            o.Limits.ConnectBurstPerIp = 3;
        });
        using var refusals = node.CollectMetric<long>("pubsub.limit.refusals");
        var admitted = new List<WsClient>();
        for (var i = 0; i < 3; i++)
        {
            admitted.Add(await node.ConnectAsync());
        }
        await admitted[0].SubscribeAsync("chat/a");

        var statuses = new List<HttpStatusCode>();
        TimeSpan? retryAfter = null;
        for (var i = 0; i < 20; i++)
        {
            var (status, headers) = await WsClient.RefusedUpgradeAsync(node.WebSocketUri);
            statuses.Add(status);
            retryAfter = headers.RetryAfter?.Delta;
        }
        var (sseStatus, body, _) = await SseClient.TryConnectAsync(node.BaseUri, "?channel=chat/a");
        await node.PublishViaApiAsync("chat/a", new { n = 1 });

        Assert.All(statuses, status => Assert.Equal(HttpStatusCode.TooManyRequests, status));
        Assert.Equal(HttpStatusCode.TooManyRequests, sseStatus);
        AssertError(body, "rate_limited", "Too many connects from this address: at most 0.001 per second.");
        Assert.NotNull(retryAfter);
        Assert.True(retryAfter >= TimeSpan.FromSeconds(1), $"Retry-After: {retryAfter}");
        Assert.Equal(21, refusals.Sum(("pubsub.limit", "connects.ip")));
        Assert.Equal(1, (await admitted[0].NextOfTypeAsync("message")).GetProperty("data").GetProperty("n").GetInt32());
        foreach (var client in admitted)
        {
            await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_session_publishing_past_its_burst_gets_rate_limited_and_goes_on()
    {
        await using var node = await TestNode.StartAsync(o =>
        {
            o.Limits.PublishesPerSecondPerSession = OnePerThousandSeconds;
            o.Limits.PublishBurst = 2;
        });
        using var refusals = node.CollectMetric<long>("pubsub.limit.refusals");
        await using var fast = await node.ConnectAsync();
        await using var other = await node.ConnectAsync();
        await fast.SubscribeAsync("chat/a");

        await fast.PublishAsync("chat/a", new { n = 1 });
        await fast.PublishAsync("chat/a", new { n = 2 });
        var refused = await fast.RequestAsync(new() { ["type"] = "publish", ["channel"] = "chat/a", ["data"] = new { n = 3 } });
        await other.PublishAsync("chat/a", new { n = 4 });

        var error = refused.GetProperty("error");
        Assert.Equal("rate_limited", error.GetProperty("code").GetString());
        Assert.Equal("Publishing too fast: at most 0.001 per second per connection.", error.GetProperty("message").GetString());
        Assert.Equal([1, 2, 4], (await fast.MessagesAsync(3)).Select(m => m.GetProperty("data").GetProperty("n").GetInt32()));
        Assert.Equal(1, refusals.Sum(("pubsub.limit", "publishes.session")));
    }

    [Fact]
    public async Task A_user_publishing_past_the_burst_over_two_sessions_gets_rate_limited_while_another_user_publishes()
    {
        await using var node = await TestNode.StartAsync(o =>
        {
            o.Limits.PublishesPerSecondPerUser = OnePerThousandSeconds;
            o.Limits.PublishBurst = 2;
        }, host: h => h.Services.AddTestAuthentication());
        using var refusals = node.CollectMetric<long>("pubsub.limit.refusals");
        await using var tab1 = await node.ConnectAsAsync("alice");
        await using var tab2 = await node.ConnectAsAsync("alice");
        await using var bob = await node.ConnectAsAsync("bob");

        await tab1.PublishAsync("chat/a", 1);
        await tab2.PublishAsync("chat/a", 2);
        var refused = await tab1.RequestAsync(new() { ["type"] = "publish", ["channel"] = "chat/a", ["data"] = 3 });
        await bob.PublishAsync("chat/a", 4);

        Assert.Equal("rate_limited", refused.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("Publishing too fast: at most 0.001 per second per user.", refused.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal(1, refusals.Sum(("pubsub.limit", "publishes.user")));
    }

    [Fact]
    public async Task A_channel_with_as_many_subscribers_as_allowed_refuses_the_next_with_too_many_subscribers()
    {
        await using var node = await TestNode.StartAsync(o => o.Limits.MaxSubscribersPerChannel = 1);
        using var refusals = node.CollectMetric<long>("pubsub.limit.refusals");
        await using var first = await node.ConnectAsync();
        await using var second = await node.ConnectAsync();
        await first.SubscribeAsync("chat/a");

        var refused = await second.RequestAsync(new() { ["type"] = "subscribe", ["channel"] = "chat/a" });
        await second.SubscribeAsync("chat/b");
        await node.PublishViaApiAsync("chat/a", new { n = 1 });
        await node.PublishViaApiAsync("chat/b", new { n = 2 });

        Assert.Equal("too_many_subscribers", refused.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("'chat/a' has as many subscribers on this node as it may (1).", refused.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal(1, (await first.NextOfTypeAsync("message")).GetProperty("data").GetProperty("n").GetInt32());
        Assert.Equal(2, (await second.NextOfTypeAsync("message")).GetProperty("data").GetProperty("n").GetInt32());
        Assert.Equal(1, refusals.Sum(("pubsub.limit", "subscribers.channel")));
    }

    [Fact]
    public async Task Negative_limits_fail_the_start_with_the_setting_named()
    {
        var failure = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() =>
            TestNode.StartAsync(o => o.Limits.MaxConnectionsPerIp = -1));

        Assert.Contains("Limits:MaxConnectionsPerIp must be 0 (no limit) or more (it is -1).", failure.Message, StringComparison.Ordinal);
    }

    private static void AssertError(string body, string code, string message)
    {
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.Equal(message, error.GetProperty("message").GetString());
    }

    private static Task WaitForSessionsAsync(TestNode node, int count) =>
        Timeouts.Until(() => node.SessionCount == count, $"the node to hold {count} sessions");
}
