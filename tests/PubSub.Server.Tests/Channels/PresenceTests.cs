using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace PubSub.Server.Tests.Channels;

/// <summary>
/// Presence and join/leave between two real nodes on one memory backplane, on every transport
/// and encoding: the <c>presence</c> and <c>presence_stats</c> frames, <c>join</c> and <c>leave</c>,
/// the server API and <see cref="IPubSubControl"/>, and what each refuses.
/// </summary>
public sealed class PresenceTests : IAsyncLifetime
{
    private readonly MemoryBackplane _backplane = new();
    private TestNode _first = null!;
    private TestNode _second = null!;

    public async Task InitializeAsync()
    {
        _first = await StartNodeAsync();
        _second = await StartNodeAsync();
    }

    public async Task DisposeAsync()
    {
        await _first.DisposeAsync();
        await _second.DisposeAsync();
        _backplane.Dispose();
    }

    private Task<TestNode> StartNodeAsync() => TestNode.StartAsync(
        configure: o =>
        {
            o.Channel("room/{x}", c => c.Presence().JoinLeave());
            o.Channel("quiet/{x}", c => c.Presence());
            o.Channel("vip/{x}", c => c.Presence().RequireAuthorization("vip"));
            // The user's name as connection info, so the tests see it travel.
            o.OnConnect = context =>
            {
                context.ConnectionInfo = Payload.FromValue(new { name = context.User.Identity?.Name });
                return ValueTask.CompletedTask;
            };
        },
        services: b => b.AddMemoryBroker(_backplane),
        host: h =>
        {
            h.Services.AddTestAuthentication();
            h.Services.AddAuthorizationBuilder().AddPolicy("vip", p => p.RequireRole("vip"));
        });

    private static string Channel(string template) => template + "/" + Guid.NewGuid().ToString("N")[..8];

    private static IEnumerable<string> Describe(JsonElement members) =>
        members.EnumerateArray()
            .Select(m => $"{m.GetProperty("user").GetString()}:{m.GetProperty("info").GetProperty("name").GetString()}")
            .Order(StringComparer.Ordinal);

    [Theory, MemberData(nameof(RawSession.Transports), MemberType = typeof(RawSession))]
    public async Task Presence_and_presence_stats_list_and_count_the_subscribers_of_every_node(string transport)
    {
        var channel = Channel("room");
        await using var alice = await RawSession.OpenAsync(_first.BaseUri, transport, "alice");
        await using var bob = await RawSession.OpenAsync(_second.BaseUri, "websocket", "bob");
        await using var bobAgain = await RawSession.OpenAsync(_second.BaseUri, "long-polling", "bob");
        await alice.SubscribeAsync(channel);
        await bob.SubscribeAsync(channel);
        await bobAgain.SubscribeAsync(channel);

        var presence = (await alice.RequestAsync("presence", channel)).GetProperty("result");
        var stats = (await alice.RequestAsync("presence_stats", channel)).GetProperty("result");

        Assert.Equal(["alice:alice", "bob:bob", "bob:bob"], Describe(presence.GetProperty("members")));
        Assert.Equal(
            new[] { alice.SessionId, bob.SessionId, bobAgain.SessionId }.Order(StringComparer.Ordinal),
            presence.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("session").GetString()!).Order(StringComparer.Ordinal));
        Assert.False(presence.GetProperty("truncated").GetBoolean());
        Assert.Equal(3, stats.GetProperty("clients").GetInt32());
        Assert.Equal(2, stats.GetProperty("users").GetInt32());
    }

    [Theory, MemberData(nameof(RawSession.Transports), MemberType = typeof(RawSession))]
    public async Task Subscribers_get_join_and_leave_frames_for_others_on_the_other_node(string transport)
    {
        var channel = Channel("room");
        await using var alice = await RawSession.OpenAsync(_first.BaseUri, transport, "alice");
        await alice.SubscribeAsync(channel);

        var bob = await RawSession.OpenAsync(_second.BaseUri, "websocket", "bob");
        await bob.SubscribeAsync(channel);
        var join = await alice.NextOfTypeAsync("join");
        // A session that disconnects leaves every channel.
        await bob.DisposeAsync();
        var leave = await alice.NextOfTypeAsync("leave");

        foreach (var frame in new[] { join, leave })
        {
            Assert.Equal(channel, frame.GetProperty("channel").GetString());
            Assert.Equal(bob.SessionId, frame.GetProperty("session").GetString());
            Assert.Equal("bob", frame.GetProperty("user").GetString());
            Assert.Equal("bob", frame.GetProperty("info").GetProperty("name").GetString());
            Assert.False(frame.TryGetProperty("offset", out _));
        }
    }

    [Fact]
    public async Task Unsubscribing_is_a_leave_and_a_channel_without_join_leave_sends_none()
    {
        var room = Channel("room");
        var quiet = Channel("quiet");
        await using var alice = await RawSession.OpenAsync(_first.BaseUri, "websocket", "alice");
        await using var bob = await RawSession.OpenAsync(_second.BaseUri, "websocket", "bob");
        await alice.SubscribeAsync(quiet);
        await alice.SubscribeAsync(room);
        await bob.SubscribeAsync(quiet);
        await bob.SubscribeAsync(room);
        Assert.Equal(room, (await alice.NextOfTypeAsync("join")).GetProperty("channel").GetString());

        await bob.RequestAsync("unsubscribe", quiet);
        await bob.RequestAsync("unsubscribe", room);
        var leave = await alice.NextOfTypeAsync("leave");

        // The first join or leave after bob's, of either channel, is the room's: quiet/ announced none.
        Assert.Equal(room, leave.GetProperty("channel").GetString());
        Assert.Equal(1, (await alice.RequestAsync("presence_stats", quiet)).GetProperty("result").GetProperty("clients").GetInt32());
    }

    [Theory, MemberData(nameof(RawSession.Transports), MemberType = typeof(RawSession))]
    public async Task Presence_requests_are_refused_for_an_unknown_channel_a_channel_without_presence_and_without_subscribe_rights(string transport)
    {
        await using var alice = await RawSession.OpenAsync(_first.BaseUri, transport, "alice");

        foreach (var type in new[] { "presence", "presence_stats" })
        {
            Assert.Equal("unknown_channel", ErrorOf(await alice.RequestAsync(type, "nope/x")));
            Assert.Equal("presence_disabled", ErrorOf(await alice.RequestAsync(type, "chat/x")));
            Assert.Equal("forbidden", ErrorOf(await alice.RequestAsync(type, "vip/x")));
            Assert.Equal("invalid_channel", ErrorOf(await alice.RequestAsync(type, "")));
        }

        static string ErrorOf(JsonElement reply) => reply.GetProperty("error").GetProperty("code").GetString()!;
    }

    [Fact]
    public async Task The_server_api_and_the_control_service_read_presence_and_stats_of_every_node()
    {
        var channel = Channel("room");
        await using var alice = await RawSession.OpenAsync(_first.BaseUri, "websocket", "alice");
        await using var bob = await RawSession.OpenAsync(_second.BaseUri, "sse", "bob");
        await alice.SubscribeAsync(channel);
        await bob.SubscribeAsync(channel);

        var (status, presence) = await GetAsync(_first, "presence?channel=" + channel);
        var (_, stats) = await GetAsync(_second, "presence_stats?channel=" + channel);
        var (_, capped) = await GetAsync(_second, "presence?limit=1&channel=" + channel);
        var control = _second.Services.GetRequiredService<IPubSubControl>();
        var page = await control.PresenceAsync(channel);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(["alice:alice", "bob:bob"], Describe(presence.GetProperty("members")));
        Assert.False(presence.GetProperty("truncated").GetBoolean());
        Assert.Equal(2, stats.GetProperty("clients").GetInt32());
        Assert.Equal(2, stats.GetProperty("users").GetInt32());
        Assert.Single(capped.GetProperty("members").EnumerateArray());
        Assert.True(capped.GetProperty("truncated").GetBoolean());
        Assert.Equal(["alice", "bob"], page.Members.Select(m => m.User).Order(StringComparer.Ordinal));
        Assert.Equal(new PresenceStats(2, 2), await control.PresenceStatsAsync(channel));
    }

    [Fact]
    public async Task The_server_api_refuses_presence_without_the_key_and_for_bad_channels_and_limits()
    {
        Assert.Equal((HttpStatusCode.Unauthorized, "unauthorized"), await ErrorAsync("presence?channel=room/a", withKey: false));
        Assert.Equal((HttpStatusCode.Unauthorized, "unauthorized"), await ErrorAsync("presence_stats?channel=room/a", withKey: false));
        Assert.Equal((HttpStatusCode.NotFound, "unknown_channel"), await ErrorAsync("presence?channel=nope/a"));
        Assert.Equal((HttpStatusCode.Forbidden, "presence_disabled"), await ErrorAsync("presence_stats?channel=chat/a"));
        Assert.Equal((HttpStatusCode.BadRequest, "bad_request"), await ErrorAsync("presence"));
        Assert.Equal((HttpStatusCode.BadRequest, "bad_request"), await ErrorAsync("presence?channel=room/a&limit=0"));
        Assert.Equal((HttpStatusCode.BadRequest, "bad_request"), await ErrorAsync("presence?channel=room/a&limit=1001"));
        var control = _first.Services.GetRequiredService<IPubSubControl>();
        Assert.Equal("presence_disabled", (await Assert.ThrowsAsync<PubSubException>(() => control.PresenceAsync("chat/a"))).Code);
        Assert.Equal("bad_request", (await Assert.ThrowsAsync<PubSubException>(() => control.PresenceAsync("room/a", limit: 0))).Code);

        async Task<(HttpStatusCode, string)> ErrorAsync(string path, bool withKey = true)
        {
            var (status, body) = await GetAsync(_first, path, withKey);
            return (status, body.GetProperty("error").GetProperty("code").GetString()!);
        }
    }

    [Fact]
    public async Task A_storm_of_joins_is_cut_to_the_channels_join_leave_rate_per_node_until_the_clock_refills_it()
    {
        var time = new ManualTimeProvider();
        using var backplane = new MemoryBackplane(time);
        await using var node = await TestNode.StartAsync(
            configure: o => o.Channel("room/{x}", c => c.Presence().JoinLeave(rate: 3)),
            services: b => b.AddMemoryBroker(backplane),
            host: h => h.Services.AddSingleton<TimeProvider>(time));
        var channel = Channel("room");
        await using var watcher = await WsClient.ConnectAsync(node.WebSocketUri);
        await watcher.SubscribeAsync(channel);

        var storm = new List<WsClient>();
        for (var i = 0; i < 10; i++)
        {
            var client = await WsClient.ConnectAsync(node.WebSocketUri);
            await client.SubscribeAsync(channel);
            storm.Add(client);
        }
        // A publication after the storm marks where its frames end.
        await node.Publisher.PublishAsync(channel, new { marker = 1 });
        var joins = await CountUntilMessageAsync();
        time.Advance(TimeSpan.FromSeconds(1));
        await storm[0].DisposeAsync();
        var leave = await watcher.NextOfTypeAsync("leave");

        Assert.Equal(3, joins);
        Assert.Equal(storm[0].SessionId, leave.GetProperty("session").GetString());
        foreach (var client in storm.Skip(1))
        {
            await client.DisposeAsync();
        }

        async Task<int> CountUntilMessageAsync()
        {
            var count = 0;
            while (true)
            {
                var frame = await watcher.NextAsync();
                switch (frame.GetProperty("type").GetString())
                {
                    case "join":
                        count++;
                        break;
                    case "message":
                        return count;
                }
            }
        }
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(TestNode node, string path, bool withKey = true)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/" + path);
        if (withKey)
        {
            request.Headers.Add("X-API-Key", TestNode.ApiKey);
        }
        using var response = await node.Http.SendAsync(request);
        return (response.StatusCode, JsonSerializer.Deserialize<JsonElement>(await response.Content.ReadAsStringAsync()));
    }
}
