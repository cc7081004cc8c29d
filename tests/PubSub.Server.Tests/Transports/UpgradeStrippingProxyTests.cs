using System.Net.WebSockets;

namespace PubSub.Server.Tests.Transports;

/// <summary>
/// Behind a proxy that strips the Upgrade header (a real HAProxy in HTTP mode), WebSocket cannot
/// work, and the HTTP transports must.
/// </summary>
public sealed class UpgradeStrippingProxyTests : IAsyncLifetime
{
    private TestNode _node = null!;
    private HaProxy _proxy = null!;

    public async Task InitializeAsync()
    {
        _node = await TestNode.StartAsync();
        _proxy = await HaProxy.StartAsync($$"""
            frontend strip
              bind 127.0.0.1:{port}
              http-request del-header Upgrade
              default_backend node

            backend node
              server node1 127.0.0.1:{{_node.BaseUri.Port}}
            """, mode: "http");
    }

    public async Task DisposeAsync()
    {
        await _proxy.DisposeAsync();
        await _node.DisposeAsync();
    }

    [Fact]
    public async Task A_websocket_attempt_fails_through_the_proxy()
    {
        var failure = await Assert.ThrowsAsync<WebSocketException>(() => WsClient.ConnectAsync(new Uri($"ws://127.0.0.1:{_proxy.Port}/pubsub/ws")));

        Assert.Contains("400", failure.Message, StringComparison.Ordinal);
        Assert.Equal(0, _node.SessionCount);
    }

    [Fact]
    public async Task Server_sent_events_work_through_the_proxy()
    {
        await using var sse = await SseClient.ConnectAsync(_proxy.BaseUri, "?channel=chat/proxied");
        await sse.NextOfTypeAsync("subscribed");

        await _node.Publisher.PublishAsync("chat/proxied", new { n = 1 });
        var message = await sse.NextOfTypeAsync("message");
        await sse.SendAsync(new { type = "publish", id = 1, channel = "chat/proxied", data = new { n = 2 } });
        var events = new[] { await sse.NextAsync(), await sse.NextAsync() };

        Assert.Equal(1, message.Frame.GetProperty("offset").GetInt64());
        Assert.Contains(events, e => e.Type == "message" && e.Frame.GetProperty("offset").GetInt64() == 2);
    }

    [Fact]
    public async Task Long_polling_works_through_the_proxy()
    {
        using var poll = await PollClient.OpenAsync(_proxy.BaseUri, "?channel=chat/polled");
        await poll.NextOfTypeAsync("subscribed");

        await poll.SendAsync(new { type = "publish", id = 1, channel = "chat/polled", data = new { n = 1 } });
        var message = await poll.NextOfTypeAsync("message", "reply");

        Assert.Equal(1, message.GetProperty("offset").GetInt64());
    }
}
