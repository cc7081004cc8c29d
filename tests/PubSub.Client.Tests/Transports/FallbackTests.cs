using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using PubSub.Client.Tests.Support;

namespace PubSub.Client.Tests.Transports;

/// <summary>
/// Negotiate and fall back: the client tries its transports in order, skips those the server does
/// not offer, and moves on from one that fails or never delivers <c>connected</c>.
/// </summary>
public sealed class FallbackTests
{
    [Fact]
    public async Task Uses_server_sent_events_when_the_server_does_not_offer_websocket()
    {
        await using var node = await TestNode.StartAsync(o => o.Transports = PubSubTransports.ServerSentEvents | PubSubTransports.LongPolling);
        await using var client = await ClientHarness.ConnectAsync(node);

        await using var subscription = await client.SubscribeAsync("chat/fallback");
        await client.PublishAsync("chat/fallback", new { n = 1 });

        Assert.Equal(PubSubTransport.ServerSentEvents, client.Transport);
        Assert.Equal(1, (await subscription.ReadAsync(1))[0].N());
    }

    [Fact]
    public async Task Uses_long_polling_when_the_server_offers_only_that()
    {
        await using var node = await TestNode.StartAsync(o => o.Transports = PubSubTransports.LongPolling);
        await using var client = await ClientHarness.ConnectAsync(node);

        await using var subscription = await client.SubscribeAsync("chat/fallback");
        await client.PublishAsync("chat/fallback", new { n = 1 });

        Assert.Equal(PubSubTransport.LongPolling, client.Transport);
        Assert.Equal(1, (await subscription.ReadAsync(1))[0].N());
    }

    [Fact]
    public async Task Follows_the_clients_order_not_the_servers()
    {
        await using var node = await TestNode.StartAsync();
        await using var client = await ClientHarness.ConnectAsync(node, configure: o =>
        {
            o.Transports.Clear();
            o.Transports.Add(PubSubTransport.LongPolling);
            o.Transports.Add(PubSubTransport.WebSocket);
        });

        Assert.Equal(PubSubTransport.LongPolling, client.Transport);
    }

    [Fact]
    public async Task Fails_clearly_when_the_server_offers_none_of_the_clients_transports()
    {
        await using var node = await TestNode.StartAsync(o => o.Transports = PubSubTransports.LongPolling);
        await using var client = ClientHarness.Create(node.PubSubUri(), PubSubTransport.WebSocket);

        var error = await Assert.ThrowsAsync<PubSubException>(() => client.ConnectAsync());

        Assert.Equal(PubSubErrorCodes.NoTransport, error.Code);
        Assert.Contains("long-polling", error.Message, StringComparison.Ordinal);
        Assert.Equal(PubSubClientState.Disconnected, client.State);
    }

    [Fact]
    public async Task Falls_back_behind_a_proxy_that_strips_the_upgrade_header()
    {
        await using var node = await TestNode.StartAsync();
        await using var proxy = await HaProxy.StartAsync($$"""
            frontend strip
              bind 127.0.0.1:{port}
              http-request del-header Upgrade
              default_backend node

            backend node
              server node1 127.0.0.1:{{node.BaseUri.Port}}
            """, mode: "http");
        await using var client = ClientHarness.Create(new Uri(proxy.BaseUri, "pubsub"));
        var events = new ClientEvents(client);

        await client.ConnectAsync().WithTimeout("connect through the proxy");
        await using var subscription = await client.SubscribeAsync("chat/proxied");
        await client.PublishAsync("chat/proxied", new { n = 1 });
        await node.PublishNumbersAsync("chat/proxied", [2]);

        Assert.Equal(PubSubTransport.ServerSentEvents, client.Transport);
        Assert.Equal([1, 2], (await subscription.ReadAsync(2)).Select(m => m.N()));
        Assert.Equal([PubSubClientState.Connecting, PubSubClientState.Connected], events.All.Select(e => e.State));
    }

    [Fact]
    public async Task A_websocket_that_opens_but_never_says_connected_counts_as_failed()
    {
        await using var node = await StartWithSilentWebSocketAsync(new StrongBox<int>());
        await using var client = ClientHarness.Create(node.PubSubUri(), configure: o => o.TransportTimeout = SilentTimeout);

        await client.ConnectAsync().WithTimeout("connect after the silent WebSocket");

        Assert.Equal(PubSubTransport.ServerSentEvents, client.Transport);
    }

    [Theory]
    [InlineData(true, 1)]
    [InlineData(false, 2)]
    public async Task A_reconnect_starts_with_the_transport_it_fell_back_to_unless_told_to_forget(bool remember, int expectedUpgrades)
    {
        var upgrades = new StrongBox<int>();
        await using var node = await StartWithSilentWebSocketAsync(upgrades);
        await using var client = ClientHarness.Create(node.PubSubUri(), configure: o =>
        {
            o.TransportTimeout = SilentTimeout;
            o.RememberFallbackFor = remember ? PubSubClientOptions.DefaultRememberFallbackFor : TimeSpan.Zero;
        });
        var events = new ClientEvents(client);
        await client.ConnectAsync().WithTimeout("connect after the silent WebSocket");

        node.CloseSession(client.SessionId!);
        await events.NextAsync(PubSubClientState.Reconnecting);
        await events.NextAsync(PubSubClientState.Connected);

        Assert.Equal(PubSubTransport.ServerSentEvents, client.Transport);
        Assert.Equal(expectedUpgrades, Volatile.Read(ref upgrades.Value));
    }

    /// <summary>
    /// Every transport's timeout, SSE's too: the client's own floor (2 s), not less, so that a
    /// loaded machine does not fail SSE as well.
    /// </summary>
    private static readonly TimeSpan SilentTimeout = TimeSpan.FromSeconds(2);

    /// <summary>A node behind a middleman that accepts WebSocket upgrades and then says nothing; counts the upgrades.</summary>
    private static Task<TestNode> StartWithSilentWebSocketAsync(StrongBox<int> upgrades) => TestNode.StartAsync(map: app =>
    {
        app.UseWebSockets();
        app.Use(async (context, next) =>
        {
            if (context.Request.Path == "/pubsub/ws" && context.WebSockets.IsWebSocketRequest)
            {
                Interlocked.Increment(ref upgrades.Value);
                using var socket = await context.WebSockets.AcceptWebSocketAsync("pubsub.json");
                // Until the client gives up and goes away.
                await socket.ReceiveAsync(new byte[16], context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                return;
            }
            await next(context);
        });
        app.MapPubSub("/pubsub");
    });

    [Fact]
    public async Task When_every_transport_fails_the_error_says_why_for_each()
    {
        await using var node = await TestNode.StartAsync(map: app =>
        {
            app.Use(async (context, next) =>
            {
                if (context.Request.Path.StartsWithSegments("/pubsub/negotiate"))
                {
                    await next(context);
                    return;
                }
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            });
            app.MapPubSub("/pubsub");
        });
        await using var client = ClientHarness.Create(node.PubSubUri());

        var error = await Assert.ThrowsAsync<PubSubException>(() => client.ConnectAsync());

        Assert.Equal(PubSubErrorCodes.TransportFailed, error.Code);
        Assert.Contains("websocket:", error.Message, StringComparison.Ordinal);
        Assert.Contains("sse: GET /sse failed with HTTP 503", error.Message, StringComparison.Ordinal);
        Assert.Contains("long-polling: GET /poll failed with HTTP 503", error.Message, StringComparison.Ordinal);
        Assert.Equal(PubSubClientState.Disconnected, client.State);
    }

    [Fact]
    public async Task A_wrong_url_fails_with_the_status()
    {
        await using var node = await TestNode.StartAsync();
        await using var client = ClientHarness.Create(new Uri(node.BaseUri, "not-pubsub"));

        var error = await Assert.ThrowsAsync<PubSubException>(() => client.ConnectAsync());

        Assert.Equal(System.Net.HttpStatusCode.NotFound, error.StatusCode);
        Assert.Contains("negotiate", error.Message, StringComparison.Ordinal);
    }
}
