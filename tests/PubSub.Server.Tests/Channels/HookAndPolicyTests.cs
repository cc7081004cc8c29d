using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace PubSub.Server.Tests.Channels;

/// <summary>Channel hooks and authorization policies decide who may subscribe and publish.</summary>
public sealed class HookAndPolicyTests
{
    [Fact]
    public async Task The_subscribe_hook_sees_route_values_and_user_and_can_reject_with_its_own_code()
    {
        var seen = new ConcurrentQueue<string>();
        await using var node = await TestNode.StartAsync(
            o => o.Channel("rooms/{room}/{topic}", c => c.OnSubscribe(ctx =>
            {
                seen.Enqueue($"{ctx.Channel}|{ctx.RouteValues["room"]}|{ctx.RouteValues["topic"]}|{ctx.User.Identity?.Name}|{ctx.SessionId}");
                if ((string?)ctx.RouteValues["room"] == "vip" && ctx.User.Identity?.Name != "alice")
                {
                    ctx.Reject("vip_only", "Only alice enters the VIP room.");
                }
            })),
            host: h => h.Services.AddTestAuthentication());
        await using var alice = await node.ConnectAsAsync("alice");
        await using var bob = await node.ConnectAsAsync("bob");

        await alice.SubscribeAsync("rooms/vip/music");
        var refused = await bob.RequestAsync(new() { ["type"] = "subscribe", ["channel"] = "rooms/vip/music" });
        await bob.SubscribeAsync("rooms/lobby/music");

        Assert.Equal("vip_only", refused.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("Only alice enters the VIP room.", refused.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal([$"rooms/vip/music|vip|music|alice|{alice.SessionId}", $"rooms/vip/music|vip|music|bob|{bob.SessionId}", $"rooms/lobby/music|lobby|music|bob|{bob.SessionId}"], seen);
    }

    [Fact]
    public async Task The_publish_hook_sees_the_data_and_a_rejected_publication_reaches_nobody()
    {
        await using var node = await TestNode.StartAsync(o => o.Channel("clean/{x}", c => c.AllowClientPublish().OnPublish(async ctx =>
        {
            await Task.Yield();
            if (ctx.Data.ToString().Contains("badword", StringComparison.Ordinal))
            {
                ctx.Reject("Mind your language.");
            }
        })));
        await using var client = await node.ConnectAsync();
        await client.SubscribeAsync("clean/a");

        var refused = await client.RequestAsync(new() { ["type"] = "publish", ["channel"] = "clean/a", ["data"] = new { text = "badword" } });
        await client.PublishAsync("clean/a", new { text = "nice" });
        var delivered = await client.NextOfTypeAsync("message");

        Assert.Equal("forbidden", refused.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("nice", delivered.GetProperty("data").GetProperty("text").GetString());
        Assert.Equal(1, delivered.GetProperty("offset").GetInt64());
    }

    [Fact]
    public async Task A_channel_policy_refuses_clients_that_do_not_satisfy_it_for_subscribe_history_and_publish()
    {
        await using var node = await TestNode.StartAsync(
            o => o.Channel("members/{x}", c => c.History(10, TimeSpan.FromMinutes(1)).AllowClientPublish().RequireAuthorization("members")),
            host: h =>
            {
                h.Services.AddTestAuthentication();
                h.Services.AddAuthorizationBuilder().AddPolicy("members", p => p.RequireRole("member"));
            });
        await using var anonymous = await node.ConnectAsAsync(null);
        await using var guest = await node.ConnectAsAsync("guest");
        await using var member = await node.ConnectAsAsync("mia", roles: "member");

        foreach (var client in new[] { anonymous, guest })
        {
            foreach (var type in new[] { "subscribe", "history", "publish" })
            {
                var reply = await client.RequestAsync(new() { ["type"] = type, ["channel"] = "members/a", ["data"] = 1 });
                Assert.Equal("forbidden", reply.GetProperty("error").GetProperty("code").GetString());
            }
        }
        await member.SubscribeAsync("members/a");
        await member.PublishAsync("members/a", new { hello = 1 });
        Assert.Equal(1, (await member.NextOfTypeAsync("message")).GetProperty("offset").GetInt64());
    }

    [Fact]
    public async Task The_unsubscribe_hook_runs_when_the_client_unsubscribes_and_when_it_goes_away()
    {
        var ended = new ConcurrentQueue<string>();
        var bothEnded = new TaskCompletionSource();
        await using var node = await TestNode.StartAsync(o => o.Channel("watched/{x}", c => c.OnUnsubscribe(ctx =>
        {
            ended.Enqueue(ctx.Channel);
            if (ended.Count == 2)
            {
                bothEnded.TrySetResult();
            }
        })));
        var client = await node.ConnectAsync();
        await client.SubscribeAsync("watched/a");
        await client.SubscribeAsync("watched/b");

        await client.RequestAsync(new() { ["type"] = "unsubscribe", ["channel"] = "watched/a" });
        client.Abort();
        await client.DisposeAsync();
        await bothEnded.Task.WithTimeout("both unsubscribe hooks");

        Assert.Equal(["watched/a", "watched/b"], ended);
    }

    private static Task<TestNode> StartWithBrokenHookAsync(LogRecorder logs) => TestNode.StartAsync(
        o => o.Channel("broken/{x}", c => c.OnSubscribe(_ => throw new InvalidOperationException("bug in the hook"))),
        host: h => logs.AddTo(h.Logging));

    /// <summary>The hook's failure is logged once per request, as an error that names the hook and the channel and carries the exception.</summary>
    private static void AssertLoggedOncePerChannel(LogRecorder logs, List<string> channels)
    {
        var errors = logs.Errors;
        Assert.Equal(channels.Count, errors.Count);
        Assert.All(errors, e => Assert.Equal("bug in the hook", Assert.IsType<InvalidOperationException>(e.Exception).Message));
        Assert.Equal(channels.Select(c => $"The OnSubscribe hook of channel '{c}' failed."), errors.Select(e => e.Message));
    }

    [Fact]
    public async Task A_hook_that_throws_gives_an_internal_error_and_the_session_goes_on()
    {
        var logs = new LogRecorder();
        await using var node = await StartWithBrokenHookAsync(logs);
        await using var client = await node.ConnectAsync();

        var reply = await client.RequestAsync(new() { ["type"] = "subscribe", ["channel"] = "broken/a" });

        Assert.Equal("internal", reply.GetProperty("error").GetProperty("code").GetString());
        Assert.DoesNotContain("bug", reply.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        await client.SubscribeAsync("chat/fine");
        AssertLoggedOncePerChannel(logs, ["broken/a"]);
    }

    [Fact]
    public async Task A_hook_that_throws_while_sse_or_polling_opens_gets_500_internal_and_leaves_no_session_behind()
    {
        var logs = new LogRecorder();
        await using var node = await StartWithBrokenHookAsync(logs);
        var channels = Enumerable.Range(0, 40).Select(i => $"broken/{i}").ToList();

        foreach (var (channel, i) in channels.Select((c, i) => (c, i)))
        {
            using var response = await node.Http.GetAsync($"pubsub/{(i % 2 == 0 ? "poll" : "sse")}?channel={channel}");
            var error = JsonSerializer.Deserialize<JsonElement>(await response.Content.ReadAsStringAsync()).GetProperty("error");

            Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
            Assert.Equal("internal", error.GetProperty("code").GetString());
            Assert.DoesNotContain("bug", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(0, node.SessionCount);
        AssertLoggedOncePerChannel(logs, channels);
        using var poll = await PollClient.OpenAsync(node.BaseUri, "?channel=chat/fine");
        Assert.Equal("chat/fine", (await poll.NextOfTypeAsync("subscribed")).GetProperty("channel").GetString());
    }

    [Fact]
    public async Task A_policy_that_throws_while_polling_opens_leaves_no_session_behind()
    {
        await using var node = await TestNode.StartAsync(
            o => o.Channel("guarded/{x}", c => c.RequireAuthorization("explodes")),
            host: h => h.Services.AddAuthorizationBuilder().AddPolicy("explodes", p => p.RequireAssertion(bool (_) => throw new InvalidOperationException("bug in the policy"))));

        for (var i = 0; i < 10; i++)
        {
            using var response = await node.Http.GetAsync($"pubsub/poll?channel=guarded/{i}");
            Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
            Assert.DoesNotContain("bug", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(0, node.SessionCount);
        using var poll = await PollClient.OpenAsync(node.BaseUri);
    }

    [Fact]
    public async Task Each_hook_call_runs_in_a_service_scope_of_its_own_so_scoped_services_work_and_are_disposed()
    {
        var seen = new ConcurrentQueue<ScopedWork>();
        await using var node = await TestNode.StartAsync(
            o => o.Channel("scoped/{x}", c => c.AllowClientPublish()
                .OnSubscribe(ctx => seen.Enqueue(ctx.Services.GetRequiredService<ScopedWork>().Use()))
                .OnPublish(ctx => seen.Enqueue(ctx.Services.GetRequiredService<ScopedWork>().Use()))
                .OnUnsubscribe(ctx => seen.Enqueue(ctx.Services.GetRequiredService<ScopedWork>().Use()))),
            services: b => b.Services.AddScoped<ScopedWork>());
        await using var client = await node.ConnectAsync();

        await client.SubscribeAsync("scoped/a");
        await client.PublishAsync("scoped/a", new { n = 1 });
        await client.RequestAsync(new() { ["type"] = "unsubscribe", ["channel"] = "scoped/a" });
        await Timeouts.Until(() => seen.Count == 3 && seen.All(w => w.Disposed), "three hook calls whose scopes ended");

        // Like a DbContext: one instance per call, never shared, disposed when the call's scope ends.
        Assert.Equal(3, seen.Distinct().Count());
    }

    /// <summary>A scoped service that knows whether its scope has ended, as a DbContext does.</summary>
    private sealed class ScopedWork : IAsyncDisposable
    {
        private volatile bool _disposed;

        public bool Disposed => _disposed;

        public ScopedWork Use() => _disposed ? throw new ObjectDisposedException(nameof(ScopedWork)) : this;

        public ValueTask DisposeAsync()
        {
            _disposed = true;
            return ValueTask.CompletedTask;
        }
    }
}
