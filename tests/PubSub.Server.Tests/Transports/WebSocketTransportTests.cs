using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace PubSub.Server.Tests.Transports;

public sealed class WebSocketTransportTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync() => _node = await TestNode.StartAsync();

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task The_first_frame_is_connected_with_the_session_and_node()
    {
        await using var client = await _node.ConnectAsync();

        var connected = client.Connected;
        Assert.Equal(_node.NodeId, connected.GetProperty("node").GetString());
        Assert.StartsWith(_node.NodeId + ".", client.SessionId);
        Assert.Equal(_node.NodeId.Length + 1 + 22, client.SessionId.Length);
        Assert.Equal(1, connected.GetProperty("version").GetInt32());
        Assert.Equal("websocket", connected.GetProperty("transport").GetString());
        Assert.Equal(25, connected.GetProperty("ping").GetInt32());
    }

    [Fact]
    public async Task A_client_that_offers_no_subprotocol_is_served_as_json()
    {
        await using var client = await WsClient.ConnectAsync(_node.WebSocketUri, subprotocol: null);

        await client.PingAsync();
    }

    [Fact]
    public async Task A_client_that_offers_only_unknown_subprotocols_is_refused_with_the_supported_one_named()
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_node.BaseUri, "pubsub/ws"));
        request.Headers.Add("Connection", "Upgrade");
        request.Headers.Add("Upgrade", "websocket");
        request.Headers.Add("Sec-WebSocket-Version", "13");
        request.Headers.Add("Sec-WebSocket-Key", Convert.ToBase64String(new byte[16]));
        request.Headers.Add("Sec-WebSocket-Protocol", "mqtt, pubsub.xml");

        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("\"code\":\"bad_request\"", body, StringComparison.Ordinal);
        Assert.Contains("pubsub.json", body, StringComparison.Ordinal);

        var failed = await Assert.ThrowsAsync<WebSocketException>(() => WsClient.ConnectAsync(_node.WebSocketUri, subprotocol: "mqtt"));
        Assert.Contains("400", failed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_plain_http_get_gets_a_clear_error()
    {
        using var response = await _node.Http.GetAsync("pubsub/ws");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("WebSocket upgrade", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_publishes_and_every_subscriber_receives_the_message_with_its_position()
    {
        await using var alice = await _node.ConnectAsync();
        await using var bob = await _node.ConnectAsync();
        var subscribed = await bob.SubscribeAsync("chat/lobby");

        var published = await alice.PublishAsync("chat/lobby", new { text = "hi bob" });
        var message = await bob.NextOfTypeAsync("message");

        Assert.Equal(0, subscribed.GetProperty("offset").GetInt64());
        Assert.False(subscribed.TryGetProperty("recovered", out _));
        Assert.Equal("chat/lobby", message.GetProperty("channel").GetString());
        Assert.Equal(1, message.GetProperty("offset").GetInt64());
        Assert.Equal(subscribed.GetProperty("epoch").GetString(), message.GetProperty("epoch").GetString());
        Assert.Equal(published.GetProperty("offset").GetInt64(), message.GetProperty("offset").GetInt64());
        Assert.Equal("hi bob", message.GetProperty("data").GetProperty("text").GetString());
    }

    [Fact]
    public async Task Binary_data_travels_as_base64_and_stays_binary()
    {
        await using var client = await _node.ConnectAsync();
        await client.SubscribeAsync("chat/bin");
        var bytes = new byte[] { 0, 1, 2, 10, 13, 255 };

        var reply = await client.RequestAsync(new() { ["type"] = "publish", ["channel"] = "chat/bin", ["binary"] = Convert.ToBase64String(bytes) });
        var message = await client.NextOfTypeAsync("message");

        Assert.True(reply.TryGetProperty("result", out _));
        Assert.False(message.TryGetProperty("data", out _));
        Assert.Equal(bytes, Convert.FromBase64String(message.GetProperty("binary").GetString()!));
    }

    [Fact]
    public async Task Server_code_publishes_through_the_in_process_publisher()
    {
        await using var client = await _node.ConnectAsync();
        await client.SubscribeAsync("news/world");

        var position = await _node.Publisher.PublishAsync("news/world", new { headline = "it works" });
        var message = await client.NextOfTypeAsync("message");

        Assert.Equal(position.Offset, message.GetProperty("offset").GetInt64());
        Assert.Equal(position.Epoch, message.GetProperty("epoch").GetString());
        Assert.Equal("it works", message.GetProperty("data").GetProperty("headline").GetString());
    }

    [Fact]
    public async Task Many_subscribers_each_receive_every_publication_once_in_order()
    {
        const int Subscribers = 60;
        const int Publications = 100;
        var clients = await Task.WhenAll(Enumerable.Range(0, Subscribers).Select(_ => _node.ConnectAsync()));
        try
        {
            await Task.WhenAll(clients.Select(c => c.SubscribeAsync("news/fanout")));

            for (var i = 1; i <= Publications; i++)
            {
                await _node.Publisher.PublishAsync("news/fanout", new { i });
            }

            var received = await Task.WhenAll(clients.Select(c => c.MessagesAsync(Publications)));
            foreach (var messages in received)
            {
                Assert.Equal(Enumerable.Range(1, Publications).Select(i => (long)i), messages.Select(m => m.GetProperty("offset").GetInt64()));
                Assert.Equal(Enumerable.Range(1, Publications), messages.Select(m => m.GetProperty("data").GetProperty("i").GetInt32()));
            }
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Unsubscribing_stops_messages_and_the_session_goes_on()
    {
        await using var client = await _node.ConnectAsync();
        await client.SubscribeAsync("chat/a");
        await client.SubscribeAsync("chat/b");

        var reply = await client.RequestAsync(new() { ["type"] = "unsubscribe", ["channel"] = "chat/a" });
        await _node.Publisher.PublishAsync("chat/a", new { n = 1 });
        await _node.Publisher.PublishAsync("chat/b", new { n = 2 });
        var message = await client.NextOfTypeAsync("message");

        Assert.Equal(JsonValueKind.Object, reply.GetProperty("result").ValueKind);
        Assert.Equal("chat/b", message.GetProperty("channel").GetString());
    }

    [Fact]
    public async Task A_client_ping_is_answered_with_pong()
    {
        await using var client = await _node.ConnectAsync();

        await client.SendAsync(new { type = "ping" });

        Assert.Equal("pong", (await client.NextAsync()).GetProperty("type").GetString());
    }

    [Fact]
    public async Task Closing_the_socket_ends_the_session_and_releases_its_subscriptions()
    {
        var client = await _node.ConnectAsync();
        await client.SubscribeAsync("chat/leaving");
        Assert.Equal(1, _node.SessionCount);

        await client.CloseAsync();
        await client.DisposeAsync();

        await Timeouts.Until(() => _node.SessionCount == 0, "the session is gone");
        Assert.Equal(WebSocketCloseStatus.NormalClosure, client.CloseStatus);
    }

    [Fact]
    public async Task An_upgrade_from_a_foreign_origin_is_refused_and_allowed_origins_connect()
    {
        await using var node = await TestNode.StartAsync(o => o.AllowedOrigins.Add("https://app.example.com"));

        var refused = await Assert.ThrowsAsync<WebSocketException>(() =>
            WsClient.ConnectAsync(node.WebSocketUri, configure: o => o.SetRequestHeader("Origin", "https://evil.example.net")));
        await using var allowed = await WsClient.ConnectAsync(node.WebSocketUri, configure: o => o.SetRequestHeader("Origin", "https://app.example.com"));
        await using var sameOrigin = await WsClient.ConnectAsync(node.WebSocketUri, configure: o => o.SetRequestHeader("Origin", $"http://{node.BaseUri.Authority}"));

        Assert.Contains("403", refused.Message, StringComparison.Ordinal);
        await allowed.PingAsync();
        await sameOrigin.PingAsync();
    }

    [Fact]
    public async Task Conventions_on_MapPubSub_apply_to_the_websocket_endpoint()
    {
        await using var node = await TestNode.StartAsync(
            host: h => h.Services.AddTestAuthentication(),
            map: app => app.MapPubSub("/pubsub").RequireAuthorization());

        var anonymous = await Assert.ThrowsAsync<WebSocketException>(() => WsClient.ConnectAsync(node.WebSocketUri));
        await using var signedIn = await WsClient.ConnectAsync(node.WebSocketUri, configure: o => o.SetRequestHeader(TestAuthenticationHandler.UserHeader, "ann"));

        Assert.Contains("401", anonymous.Message, StringComparison.Ordinal);
        await signedIn.PingAsync();
    }
}
