using Microsoft.AspNetCore.Builder;
using PubSub.Client.Tests.Support;

namespace PubSub.Client.Tests.Lifecycle;

/// <summary>Every awaitable honours its cancellation token, and a cancelled request is not sent later.</summary>
public sealed class CancellationTests
{
    [Fact]
    public async Task A_cancelled_connect_throws_and_leaves_the_client_disconnected()
    {
        await using var node = await TestNode.StartAsync(map: app =>
        {
            app.UseWebSockets();
            app.Use(async (context, next) =>
            {
                if (context.WebSockets.IsWebSocketRequest)
                {
                    using var socket = await context.WebSockets.AcceptWebSocketAsync("pubsub.json");
                    await socket.ReceiveAsync(new byte[16], context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                    return;
                }
                await next(context);
            });
            app.MapPubSub("/pubsub");
        });
        await using var client = ClientHarness.Create(node.PubSubUri(), PubSubTransport.WebSocket, o => o.TransportTimeout = TimeSpan.FromMinutes(1));
        var events = new ClientEvents(client);
        using var cancel = new CancellationTokenSource();

        var connecting = client.ConnectAsync(cancel.Token);
        await events.NextAsync(PubSubClientState.Connecting);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => connecting.WithTimeout("ConnectAsync to stop"));
        await events.NextAsync(PubSubClientState.Disconnected);
        Assert.Equal(PubSubClientState.Disconnected, client.State);
    }

    [Fact]
    public async Task A_publish_cancelled_while_reconnecting_is_never_sent()
    {
        using var gate = new GateHandler();
        await using var node = await TestNode.StartAsync();
        await using var client = await ClientHarness.ConnectAsync(node, configure: o => o.HttpMessageHandler = gate);
        var events = new ClientEvents(client);
        gate.Close();
        node.CloseSession(client.SessionId!);
        await events.NextAsync(PubSubClientState.Reconnecting);
        using var cancel = new CancellationTokenSource();

        var publishing = client.PublishAsync("chat/cancelled", new { n = 1 }, cancel.Token);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => publishing.WithTimeout("the publish to stop"));
        gate.Open();
        await events.NextAsync(PubSubClientState.Connected);
        var after = await client.PublishAsync("chat/cancelled", new { n = 2 });

        Assert.Equal(1, after.Offset);
        var history = await client.GetHistoryAsync("chat/cancelled");
        Assert.Equal([2], history.Publications.Select(p => p.N()));
    }

    [Fact]
    public async Task A_publish_made_while_reconnecting_is_sent_after_the_reconnect()
    {
        using var gate = new GateHandler();
        await using var node = await TestNode.StartAsync();
        await using var client = await ClientHarness.ConnectAsync(node, configure: o => o.HttpMessageHandler = gate);
        var events = new ClientEvents(client);
        gate.Close();
        node.CloseSession(client.SessionId!);
        await events.NextAsync(PubSubClientState.Reconnecting);

        var publishing = client.PublishAsync("chat/queued", new { n = 1 });
        gate.Open();

        Assert.Equal(1, (await publishing.WithTimeout("the queued publish")).Offset);
    }

    [Fact]
    public async Task Reading_a_subscription_honours_its_token()
    {
        await using var node = await TestNode.StartAsync();
        await using var client = await ClientHarness.ConnectAsync(node);
        await using var subscription = await client.SubscribeAsync("chat/read");
        using var cancel = new CancellationTokenSource();

        var reading = Task.Run(async () =>
        {
            await foreach (var _ in subscription.ReadAllAsync(cancel.Token))
            {
            }
        });
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reading.WithTimeout("the read to stop"));
        // The subscription itself goes on.
        await node.PublishNumbersAsync("chat/read", [1]);
        Assert.Equal(1, (await subscription.ReadAsync(1))[0].N());
    }

    [Fact]
    public async Task Requests_honour_an_already_cancelled_token()
    {
        await using var node = await TestNode.StartAsync();
        await using var client = await ClientHarness.ConnectAsync(node);
        using var cancel = new CancellationTokenSource();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.PublishAsync("chat/c", new { n = 1 }, cancel.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.SubscribeAsync("chat/c", cancel.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetHistoryAsync("chat/c", cancellationToken: cancel.Token));

        // Neither the cancelled subscribe nor the publish took effect.
        await using var subscription = await client.SubscribeAsync("chat/c");
        Assert.Empty((await client.GetHistoryAsync("chat/c")).Publications);
    }

    [Fact]
    public async Task A_request_without_a_reply_in_time_fails_with_timeout_saying_whether_it_was_sent()
    {
        using var gate = new GateHandler();
        await using var node = await TestNode.StartAsync();
        await using var client = await ClientHarness.ConnectAsync(node, configure: o =>
        {
            o.HttpMessageHandler = gate;
            o.RequestTimeout = TimeSpan.FromMilliseconds(300);
        });
        var events = new ClientEvents(client);
        gate.Close();
        node.CloseSession(client.SessionId!);
        await events.NextAsync(PubSubClientState.Reconnecting);

        var error = await Assert.ThrowsAsync<PubSubException>(() => client.PublishAsync("chat/late", new { n = 1 }));

        Assert.Equal(PubSubErrorCodes.Timeout, error.Code);
        Assert.Contains("it was not sent", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Using_the_client_before_connecting_is_a_clear_error()
    {
        await using var client = new PubSubClient(new Uri("http://127.0.0.1:9/pubsub"));

        var subscribe = await Assert.ThrowsAsync<InvalidOperationException>(() => client.SubscribeAsync("chat/x"));
        var publish = await Assert.ThrowsAsync<InvalidOperationException>(() => client.PublishAsync("chat/x", new { n = 1 }));

        Assert.Contains("ConnectAsync", subscribe.Message, StringComparison.Ordinal);
        Assert.Contains("ConnectAsync", publish.Message, StringComparison.Ordinal);
    }
}
