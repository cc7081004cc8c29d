using Microsoft.AspNetCore.Builder;
using PubSub.Client.Tests.Support;

namespace PubSub.Client.Tests.Lifecycle;

/// <summary>
/// Disposal closes cleanly and leaves nothing running: every task the client started has ended
/// when DisposeAsync returns, streams complete, and waiting requests fail with a clear error.
/// </summary>
public sealed class DisposalTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync() => _node = await TestNode.StartAsync();

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Theory, AllTransports]
    public async Task No_task_the_client_started_outlives_DisposeAsync(PubSubTransport transport)
    {
        var client = await ClientHarness.ConnectAsync(_node, transport);
        var subscription = await client.SubscribeAsync("chat/dispose");
        await client.PublishAsync("chat/dispose", new { n = 1 });
        await subscription.ReadAsync(1);
        var session = client.SessionId!;
        var started = client.BackgroundTasksStarted;
        // The node removes the session, then records its close: the event to wait for, as the
        // removal runs on the server's own time (after the close handshake or the 'close' frame).
        using var closed = _node.CollectMetric<long>("pubsub.session.closed");

        await client.DisposeAsync().AsTask().WithTimeout("DisposeAsync");

        // The supervisor, the receive loop and the send loop at least.
        Assert.True(started >= 3, $"only {started} background tasks were counted");
        Assert.All(client.BackgroundTasks, t => Assert.True(t.IsCompleted, "a background task still runs"));
        Assert.Equal(PubSubClientState.Closed, client.State);
        await subscription.Completion.WithTimeout("the stream to complete");
        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.ConnectAsync());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.PublishAsync("chat/dispose", new { n = 2 }));
        // WebSocket: the close handshake; SSE and long-polling: a 'close' frame through /send.
        await closed.WaitForMeasurementsAsync(1, Timeouts.Default).WithTimeout("the node to close the session");
        Assert.False(_node.HasSession(session));
    }

    [Fact]
    public async Task Disposing_while_reconnecting_stops_the_attempts_and_fails_waiting_requests()
    {
        var node = await TestNode.StartAsync();
        var client = await ClientHarness.ConnectAsync(node);
        var events = new ClientEvents(client);
        await node.DisposeAsync();
        await events.NextAsync(PubSubClientState.Reconnecting);
        var waiting = client.PublishAsync("chat/never", new { n = 1 });

        await client.DisposeAsync().AsTask().WithTimeout("DisposeAsync");

        var error = await Assert.ThrowsAsync<PubSubException>(() => waiting.WithTimeout("the waiting publish to fail"));
        Assert.Equal(PubSubErrorCodes.Closed, error.Code);
        Assert.All(client.BackgroundTasks, t => Assert.True(t.IsCompleted));
        Assert.Equal(PubSubClientState.Closed, client.State);
    }

    [Fact]
    public async Task Disposing_while_connecting_ends_the_attempt()
    {
        // A WebSocket endpoint that accepts and never says 'connected', with a long attempt timeout.
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
        var client = ClientHarness.Create(node.PubSubUri(), PubSubTransport.WebSocket, o => o.TransportTimeout = TimeSpan.FromMinutes(1));
        var events = new ClientEvents(client);
        var connecting = client.ConnectAsync();
        await events.NextAsync(PubSubClientState.Connecting);

        await client.DisposeAsync().AsTask().WithTimeout("DisposeAsync");

        await Assert.ThrowsAnyAsync<Exception>(() => connecting.WithTimeout("ConnectAsync to end"));
        Assert.All(client.BackgroundTasks, t => Assert.True(t.IsCompleted));
    }

    [Fact]
    public async Task DisposeAsync_twice_and_concurrently_is_safe()
    {
        var client = await ClientHarness.ConnectAsync(_node);

        await Task.WhenAll(client.DisposeAsync().AsTask(), client.DisposeAsync().AsTask(), Task.Run(() => client.DisposeAsync().AsTask())).WithTimeout("three disposals");
        await client.DisposeAsync();

        Assert.Equal(PubSubClientState.Closed, client.State);
    }

    [Fact]
    public async Task Disposing_a_subscription_unsubscribes_and_ends_its_stream()
    {
        await using var client = await ClientHarness.ConnectAsync(_node);
        var subscription = await client.SubscribeAsync("chat/sub-dispose");
        await using var watcher = await client.SubscribeAsync("chat/watch");

        await subscription.DisposeAsync();
        await _node.PublishNumbersAsync("chat/sub-dispose", [1]);
        await client.PingAsync();

        await subscription.Completion.WithTimeout("the stream to complete");
        Assert.False(subscription.Reader.TryRead(out _));
        // The channel can be subscribed again: the server no longer holds the old subscription.
        await using var again = await client.SubscribeAsync("chat/sub-dispose");
    }
}
