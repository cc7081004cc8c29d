using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace PubSub.Server.Tests.Control;

/// <summary>
/// The control plane between two real nodes on one memory backplane: what the server API (and
/// <see cref="IPubSubControl"/>) asks on one node is done to sessions on the other, on every transport.
/// </summary>
public sealed class ControlPlaneTests : IAsyncLifetime
{
    // The backplane's clock moves only when a test says: the idempotency window of short/{x}
    // (300 ms) must not end between a publish and its retry on a loaded machine.
    private readonly ManualTimeProvider _clock = new();
    private readonly MemoryBackplane _backplane;
    private TestNode _asked = null!;
    private TestNode _holder = null!;

    public ControlPlaneTests() => _backplane = new MemoryBackplane(_clock);

    public async Task InitializeAsync()
    {
        _asked = await StartNodeAsync();
        _holder = await StartNodeAsync();
    }

    public async Task DisposeAsync()
    {
        await _asked.DisposeAsync();
        await _holder.DisposeAsync();
        _backplane.Dispose();
    }

    private Task<TestNode> StartNodeAsync(Action<PubSubOptions>? configure = null, Action<IPubSubBuilder>? services = null) => TestNode.StartAsync(
        configure: o =>
        {
            o.Channel("short/{x}", c => c.History(10, TimeSpan.FromMinutes(1)).AllowClientPublish().IdempotencyWindow(TimeSpan.FromMilliseconds(300)));
            configure?.Invoke(o);
        },
        services: services ?? (b => b.AddMemoryBroker(_backplane)),
        host: h => h.Services.AddTestAuthentication());

    private static IPubSubControl ControlOf(TestNode node) => node.Services.GetRequiredService<IPubSubControl>();

    private static async Task<(HttpStatusCode Status, JsonElement Body)> CallAsync(TestNode node, HttpMethod method, string path, string? body = null, bool withKey = true)
    {
        using var request = new HttpRequestMessage(method, "api/" + path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }
        if (withKey)
        {
            request.Headers.Add("X-API-Key", TestNode.ApiKey);
        }
        using var response = await node.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonSerializer.Deserialize<JsonElement>(text));
    }

    private static string ErrorCode(JsonElement body) => body.GetProperty("error").GetProperty("code").GetString()!;

    [Theory, MemberData(nameof(RawSession.Transports), MemberType = typeof(RawSession))]
    public async Task Disconnecting_a_user_ends_their_sessions_on_the_other_node_for_good(string transport)
    {
        await using var alice = await RawSession.OpenAsync(_holder.BaseUri, transport, "alice");
        await using var bob = await RawSession.OpenAsync(_holder.BaseUri, transport, "bob");

        var (status, body) = await CallAsync(_asked, HttpMethod.Post, "disconnect", """{"user":"alice","reason":"banned"}""");
        var disconnect = await alice.NextOfTypeAsync("disconnect");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1, body.GetProperty("sessions").GetInt32());
        Assert.Empty(body.GetProperty("unansweredNodes").EnumerateArray());
        Assert.Equal(4500, disconnect.GetProperty("code").GetInt32());
        Assert.Equal("banned", disconnect.GetProperty("reason").GetString());
        Assert.False(disconnect.GetProperty("reconnect").GetBoolean());
        await Timeouts.Until(() => !_holder.HasSession(alice.SessionId), "alice's session to be gone");
        Assert.True(_holder.HasSession(bob.SessionId));
    }

    [Theory, MemberData(nameof(RawSession.Transports), MemberType = typeof(RawSession))]
    public async Task Unsubscribing_a_user_on_the_other_node_sends_unsubscribed_and_stops_the_messages(string transport)
    {
        await using var alice = await RawSession.OpenAsync(_holder.BaseUri, transport, "alice");
        await alice.SubscribeAsync("chat/unsub");
        await alice.SubscribeAsync("chat/stays");

        var result = await ControlOf(_asked).UnsubscribeAsync(SessionTarget.User("alice"), "chat/unsub", "kicked", "You were removed.");
        var unsubscribed = await alice.NextOfTypeAsync("unsubscribed");
        await _asked.Publisher.PublishAsync("chat/unsub", new { n = 1 });
        await _asked.Publisher.PublishAsync("chat/stays", new { n = 2 });
        var next = await alice.NextOfTypeAsync("message");

        Assert.Equal(1, result.Sessions);
        Assert.Equal("chat/unsub", unsubscribed.GetProperty("channel").GetString());
        Assert.Equal("kicked", unsubscribed.GetProperty("code").GetString());
        Assert.Equal("You were removed.", unsubscribed.GetProperty("reason").GetString());
        Assert.Equal("chat/stays", next.GetProperty("channel").GetString());
    }

    [Theory, MemberData(nameof(RawSession.Transports), MemberType = typeof(RawSession))]
    public async Task Subscribing_a_user_on_the_other_node_sends_subscribed_then_the_messages(string transport)
    {
        await using var alice = await RawSession.OpenAsync(_holder.BaseUri, transport, "alice");

        var (status, body) = await CallAsync(_asked, HttpMethod.Post, "subscribe", """{"user":"alice","channel":"chat/server-made"}""");
        var subscribed = await alice.NextOfTypeAsync("subscribed");
        await _asked.Publisher.PublishAsync("chat/server-made", new { n = 1 });
        var message = await alice.NextOfTypeAsync("message");
        var again = await ControlOf(_asked).SubscribeAsync(SessionTarget.User("alice"), "chat/server-made");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1, body.GetProperty("sessions").GetInt32());
        Assert.Equal("chat/server-made", subscribed.GetProperty("channel").GetString());
        Assert.Equal(0, subscribed.GetProperty("offset").GetInt64());
        Assert.Equal(1, message.GetProperty("offset").GetInt64());
        // Already subscribed: left as it is, and not counted.
        Assert.Equal(0, again.Sessions);
    }

    [Fact]
    public async Task A_server_made_subscription_on_sse_is_in_the_cursor_and_recovers_after_a_reconnect()
    {
        string cursor;
        await using (var sse = await SseClient.ConnectAsync(_holder.BaseUri, configure: r => r.Headers.Add(TestAuthenticationHandler.UserHeader, "alice")))
        {
            await ControlOf(_asked).SubscribeAsync(SessionTarget.User("alice"), "chat/cursor");
            await sse.NextOfTypeAsync("subscribed");
            await _asked.Publisher.PublishAsync("chat/cursor", new { n = 1 });
            var first = await sse.NextOfTypeAsync("message");
            cursor = first.Id!;
        }
        await _asked.Publisher.PublishAsync("chat/cursor", new { n = 2 });
        await using var resumed = await SseClient.ConnectAsync(_asked.BaseUri, lastEventId: cursor, configure: r => r.Headers.Add(TestAuthenticationHandler.UserHeader, "alice"));
        var subscribed = await resumed.NextOfTypeAsync("subscribed");
        var missed = await resumed.NextOfTypeAsync("message");

        Assert.Contains(":1:chat/cursor", cursor, StringComparison.Ordinal);
        Assert.True(subscribed.Frame.GetProperty("recovered").GetBoolean());
        Assert.Equal(2, missed.Frame.GetProperty("offset").GetInt64());
    }

    [Fact]
    public async Task Disconnecting_one_session_by_id_leaves_the_users_other_sessions()
    {
        await using var first = await RawSession.OpenAsync(_holder.BaseUri, "websocket", "alice");
        await using var second = await RawSession.OpenAsync(_holder.BaseUri, "long-polling", "alice");

        var result = await ControlOf(_asked).DisconnectAsync(SessionTarget.Session(first.SessionId), 4100, "come back");
        var disconnect = await first.NextOfTypeAsync("disconnect");

        Assert.Equal(1, result.Sessions);
        Assert.Equal(4100, disconnect.GetProperty("code").GetInt32());
        Assert.True(disconnect.GetProperty("reconnect").GetBoolean());
        Assert.True(_holder.HasSession(second.SessionId));
    }

    [Fact]
    public async Task A_broadcast_gives_each_channel_its_own_offset_and_an_error_to_the_one_that_fails()
    {
        await using var alice = await RawSession.OpenAsync(_holder.BaseUri, "websocket", "alice");
        await alice.SubscribeAsync("news/b1");
        await _asked.Publisher.PublishAsync("news/b1", new { before = true });
        await alice.NextOfTypeAsync("message");

        var (status, body) = await CallAsync(_asked, HttpMethod.Post, "broadcast", """{"channels":["news/b1","news/b2","nope/x"],"data":{"alert":1}}""");
        var message = await alice.NextOfTypeAsync("message");
        var results = body.GetProperty("results").EnumerateArray().ToList();

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(["news/b1", "news/b2", "nope/x"], results.Select(r => r.GetProperty("channel").GetString()));
        Assert.Equal(2, results[0].GetProperty("offset").GetInt64());
        Assert.Equal(1, results[1].GetProperty("offset").GetInt64());
        Assert.Equal("unknown_channel", results[2].GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(2, message.GetProperty("offset").GetInt64());
        Assert.Equal(1, message.GetProperty("data").GetProperty("alert").GetInt32());
    }

    [Fact]
    public async Task Channels_sums_subscribers_over_the_nodes_and_info_lists_both_nodes()
    {
        await using var alice = await RawSession.OpenAsync(_asked.BaseUri, "websocket", "alice");
        await using var bob = await RawSession.OpenAsync(_holder.BaseUri, "sse", "bob");
        await using var carol = await RawSession.OpenAsync(_holder.BaseUri, "long-polling", "carol");
        await alice.SubscribeAsync("chat/a");
        await bob.SubscribeAsync("chat/a");
        await carol.SubscribeAsync("chat/b");
        await carol.SubscribeAsync("news/c");

        var (status, body) = await CallAsync(_asked, HttpMethod.Get, "channels?pattern=chat/*");
        var exact = await ControlOf(_asked).ChannelsAsync("chat/?");
        var all = await ControlOf(_holder).ChannelsAsync();
        var (infoStatus, info) = await CallAsync(_holder, HttpMethod.Get, "info");
        var nodes = info.GetProperty("nodes").EnumerateArray().ToDictionary(n => n.GetProperty("node").GetString()!);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(["chat/a:2", "chat/b:1"], body.GetProperty("channels").EnumerateArray().Select(c => $"{c.GetProperty("channel").GetString()}:{c.GetProperty("subscribers").GetInt32()}"));
        Assert.False(body.GetProperty("truncated").GetBoolean());
        Assert.Equal(2, exact.Channels.Count);
        Assert.Equal(["chat/a", "chat/b", "news/c"], all.Channels.Select(c => c.Channel));
        Assert.Equal(HttpStatusCode.OK, infoStatus);
        Assert.Equal(new[] { _asked.NodeId, _holder.NodeId }.Order(), nodes.Keys.Order());
        Assert.Equal(1, nodes[_asked.NodeId].GetProperty("sessions").GetProperty("websocket").GetInt32());
        Assert.Equal(1, nodes[_holder.NodeId].GetProperty("sessions").GetProperty("sse").GetInt32());
        Assert.Equal(1, nodes[_holder.NodeId].GetProperty("sessions").GetProperty("long-polling").GetInt32());
        Assert.True(nodes[_holder.NodeId].GetProperty("uptime").GetDouble() > 0);
        Assert.Empty(info.GetProperty("unansweredNodes").EnumerateArray());
    }

    [Fact]
    public async Task A_node_that_does_not_answer_is_reported_within_the_timeout_and_the_others_still_answer()
    {
        await using var deaf = await StartNodeAsync(services: b => b.Services.AddSingleton<IBroker>(new DeafBroker(_backplane)));
        await using var mute = await StartNodeAsync(o => o.NodeRequestTimeout = TimeSpan.FromMilliseconds(500));
        await using var alice = await RawSession.OpenAsync(_holder.BaseUri, "websocket", "alice");

        var started = DateTime.UtcNow;
        var info = await ControlOf(mute).InfoAsync();
        var disconnect = await ControlOf(mute).DisconnectAsync(SessionTarget.User("alice"));

        Assert.Equal([deaf.NodeId], info.UnansweredNodes);
        Assert.Equal(3, info.Nodes.Count);
        Assert.Equal(1, disconnect.Sessions);
        Assert.Equal([deaf.NodeId], disconnect.UnansweredNodes);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5), "the unanswered node was waited for too long");
    }

    /// <summary>A node whose broker takes no node messages: alive, but it never hears a request.</summary>
    private sealed class DeafBroker(MemoryBackplane backplane) : MemoryBrokerDecorator(backplane)
    {
        public override Task StartAsync(string nodeId, IBrokerHandler handler, CancellationToken cancellationToken) =>
            base.StartAsync(nodeId, new Deaf(handler), cancellationToken);

        private sealed class Deaf(IBrokerHandler inner) : IBrokerHandler
        {
            public void OnPublication(Publication publication) => inner.OnPublication(publication);

            public void OnNodeMessage(ReadOnlyMemory<byte> message)
            {
            }

            public void OnPresence(PresenceEvent presence) => inner.OnPresence(presence);
        }
    }

    [Fact]
    public async Task An_unknown_user_or_session_is_a_result_of_zero_sessions_not_an_error()
    {
        var (status, body) = await CallAsync(_asked, HttpMethod.Post, "disconnect", """{"user":"nobody"}""");
        var (unsubscribeStatus, unsubscribe) = await CallAsync(_asked, HttpMethod.Post, "unsubscribe", """{"session":"nx.AAAAAAAAAAAAAAAAAAAAAA","channel":"chat/x"}""");
        var malformed = await ControlOf(_asked).SubscribeAsync(SessionTarget.Session("not-a-session-id"), "chat/x");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(0, body.GetProperty("sessions").GetInt32());
        Assert.Equal(HttpStatusCode.OK, unsubscribeStatus);
        Assert.Equal(0, unsubscribe.GetProperty("sessions").GetInt32());
        Assert.Equal(0, malformed.Sessions);
    }

    [Fact]
    public async Task Bad_control_input_is_refused_with_the_error_body_and_breaks_nothing()
    {
        await using var alice = await RawSession.OpenAsync(_holder.BaseUri, "websocket", "alice");
        var tooMany = JsonSerializer.Serialize(new { channels = Enumerable.Range(0, BroadcastResult.MaxChannels + 1).Select(i => $"news/{i}"), data = 1 });

        var cases = new (string Path, string Body, HttpStatusCode Status, string Code)[]
        {
            ("disconnect", """{"user":"alice","code":4000}""", HttpStatusCode.BadRequest, "bad_request"),
            ("disconnect", """{"user":"alice","code":4501}""", HttpStatusCode.BadRequest, "bad_request"),
            ("disconnect", """{"user":"alice","code":1000}""", HttpStatusCode.BadRequest, "bad_request"),
            ("disconnect", """{"user":"alice","code":4500,"reconnect":true}""", HttpStatusCode.BadRequest, "bad_request"),
            ("disconnect", """{"user":"alice","reason":"%"}""".Replace("%", new string('x', 124), StringComparison.Ordinal), HttpStatusCode.BadRequest, "bad_request"),
            ("disconnect", """{"user":"alice","session":"x"}""", HttpStatusCode.BadRequest, "bad_request"),
            ("disconnect", """{}""", HttpStatusCode.BadRequest, "bad_request"),
            ("disconnect", """{"user":42}""", HttpStatusCode.BadRequest, "bad_request"),
            ("disconnect", """not json""", HttpStatusCode.BadRequest, "bad_request"),
            ("unsubscribe", """{"user":"alice","channel":"nope/x"}""", HttpStatusCode.NotFound, "unknown_channel"),
            ("unsubscribe", """{"user":"alice","channel":"chat/x","code":"Not A Code"}""", HttpStatusCode.BadRequest, "bad_request"),
            ("subscribe", """{"user":"alice","channel":"nope/x"}""", HttpStatusCode.NotFound, "unknown_channel"),
            ("subscribe", """{"user":"alice","channel":"bad,name"}""", HttpStatusCode.BadRequest, "invalid_channel"),
            ("subscribe", """{"user":"alice"}""", HttpStatusCode.BadRequest, "bad_request"),
            ("broadcast", tooMany, HttpStatusCode.BadRequest, "bad_request"),
            ("broadcast", """{"channels":[],"data":1}""", HttpStatusCode.BadRequest, "bad_request"),
            ("broadcast", """{"channels":["news/a","news/a"],"data":1}""", HttpStatusCode.BadRequest, "bad_request"),
            ("broadcast", """{"channels":["news/a"]}""", HttpStatusCode.BadRequest, "bad_request"),
            ("broadcast", """{"channels":["news/a"],"data":1,"idempotencyKey":""}""", HttpStatusCode.BadRequest, "bad_request"),
        };
        foreach (var (path, body, expected, code) in cases)
        {
            var (status, answer) = await CallAsync(_asked, HttpMethod.Post, path, body);
            Assert.True(status == expected, $"{path} {body}: {(int)status} {answer}");
            Assert.Equal(code, ErrorCode(answer));
        }
        await Assert.ThrowsAsync<PubSubException>(() => ControlOf(_asked).DisconnectAsync(SessionTarget.User("alice"), 4999 + 1));

        // Nothing was done: alice is still there and still gets what is published.
        Assert.True(_holder.HasSession(alice.SessionId));
        await alice.SubscribeAsync("news/a");
        await _asked.Publisher.PublishAsync("news/a", new { still = true });
        Assert.Equal(1, (await alice.NextOfTypeAsync("message")).GetProperty("offset").GetInt64());
    }

    [Theory]
    [InlineData("POST", "disconnect")]
    [InlineData("POST", "unsubscribe")]
    [InlineData("POST", "subscribe")]
    [InlineData("POST", "broadcast")]
    [InlineData("GET", "channels")]
    [InlineData("GET", "info")]
    public async Task Control_endpoints_without_the_key_are_unauthorized(string method, string path)
    {
        await using var alice = await RawSession.OpenAsync(_holder.BaseUri, "websocket", "alice");

        var (status, body) = await CallAsync(_asked, new HttpMethod(method), path, method == "POST" ? """{"user":"alice","channel":"news/k","channels":["news/k"],"data":1}""" : null, withKey: false);

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("unauthorized", ErrorCode(body));
        Assert.True(_holder.HasSession(alice.SessionId));
        Assert.Equal(0, (await _asked.Publisher.GetHistoryAsync("news/k")).Latest.Offset);
    }

    [Fact]
    public async Task A_publish_frame_repeated_with_its_idempotency_key_is_published_once()
    {
        await using var client = await _holder.ConnectAsync();
        await client.SubscribeAsync("chat/once");

        var first = await client.RequestAsync(new() { ["type"] = "publish", ["channel"] = "chat/once", ["data"] = 1, ["idempotencyKey"] = "k-1" });
        var repeat = await client.RequestAsync(new() { ["type"] = "publish", ["channel"] = "chat/once", ["data"] = 1, ["idempotencyKey"] = "k-1" });
        var other = await client.RequestAsync(new() { ["type"] = "publish", ["channel"] = "chat/once", ["data"] = 2, ["idempotencyKey"] = "k-2" });
        var messages = await client.MessagesAsync(2);

        Assert.Equal(1, first.GetProperty("result").GetProperty("offset").GetInt64());
        Assert.Equal(1, repeat.GetProperty("result").GetProperty("offset").GetInt64());
        Assert.Equal(2, other.GetProperty("result").GetProperty("offset").GetInt64());
        Assert.Equal([1L, 2], messages.Select(m => m.GetProperty("offset").GetInt64()));
    }

    [Fact]
    public async Task A_retry_with_the_same_key_on_the_other_node_returns_the_first_position_until_the_window_ends()
    {
        var body = """{"channel":"short/retry","data":{"n":1},"idempotencyKey":"order-17"}""";

        var (_, first) = await CallAsync(_asked, HttpMethod.Post, "publish", body);
        var (_, retried) = await CallAsync(_holder, HttpMethod.Post, "publish", body);
        var inProcess = await _holder.Publisher.PublishAsync("short/retry", Payload.FromValue(new { n = 1 }), "order-17");
        var otherChannel = await _holder.Publisher.PublishAsync("short/other", Payload.FromValue(1), "order-17");
        _clock.Advance(TimeSpan.FromMilliseconds(301));
        var afterWindow = await _holder.Publisher.PublishAsync("short/retry", Payload.FromValue(new { n = 1 }), "order-17");

        Assert.Equal(1, first.GetProperty("offset").GetInt64());
        Assert.Equal(first.GetProperty("epoch").GetString(), retried.GetProperty("epoch").GetString());
        Assert.Equal(1, retried.GetProperty("offset").GetInt64());
        Assert.Equal(1, inProcess.Offset);
        Assert.Equal(1, otherChannel.Offset);
        Assert.Equal(2, afterWindow.Offset);
    }

    [Fact]
    public async Task An_idempotency_key_that_is_not_a_short_string_is_refused()
    {
        var (tooLong, tooLongBody) = await CallAsync(_asked, HttpMethod.Post, "publish", $$"""{"channel":"news/k","data":1,"idempotencyKey":"{{new string('k', 129)}}"}""");
        var (number, _) = await CallAsync(_asked, HttpMethod.Post, "publish", """{"channel":"news/k","data":1,"idempotencyKey":7}""");

        Assert.Equal(HttpStatusCode.BadRequest, tooLong);
        Assert.Equal("bad_request", ErrorCode(tooLongBody));
        Assert.Equal(HttpStatusCode.BadRequest, number);
        await Assert.ThrowsAsync<PubSubException>(async () => await _asked.Publisher.PublishAsync("news/k", Payload.FromValue(1), ""));
        Assert.Equal(0, (await _asked.Publisher.GetHistoryAsync("news/k")).Latest.Offset);
    }
}
