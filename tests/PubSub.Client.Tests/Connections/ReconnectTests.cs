using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using PubSub.Client.Tests.Support;

namespace PubSub.Client.Tests.Connections;

/// <summary>
/// Reconnects and recovery: after the connection is lost, the client reconnects with backoff and
/// subscribes again from the last position, so the application sees every publication exactly
/// once and in order; disconnect codes decide whether it reconnects at all.
/// </summary>
public sealed class ReconnectTests
{
    [Theory, AllTransports]
    public async Task A_session_closed_by_the_server_with_a_reconnect_code_is_resumed(PubSubTransport transport)
    {
        await using var node = await TestNode.StartAsync();
        await using var client = await ClientHarness.ConnectAsync(node, transport);
        var events = new ClientEvents(client);
        await using var subscription = await client.SubscribeAsync("chat/kick");
        await node.PublishNumbersAsync("chat/kick", [1]);
        await subscription.ReadAsync(1);
        var session = client.SessionId!;

        node.CloseSession(session);
        var lost = await events.NextAsync(PubSubClientState.Reconnecting);
        await events.NextAsync(PubSubClientState.Connected);
        await client.PingAsync();
        await node.PublishNumbersAsync("chat/kick", [2]);

        Assert.Equal(4003, Assert.IsType<PubSubDisconnectedException>(lost.Error).DisconnectCode);
        Assert.NotEqual(session, client.SessionId);
        Assert.Equal(2, (await subscription.ReadAsync(1))[0].N());
    }

    [Theory, AllTransports]
    public async Task A_slow_consumer_disconnect_is_resumed(PubSubTransport transport)
    {
        await using var node = await TestNode.StartAsync();
        await using var client = await ClientHarness.ConnectAsync(node, transport);
        var events = new ClientEvents(client);
        await using var subscription = await client.SubscribeAsync("chat/slow");

        node.CloseSession(client.SessionId!, 4001, "The client did not read fast enough; reconnect and recover.");
        var lost = await events.NextAsync(PubSubClientState.Reconnecting);
        await events.NextAsync(PubSubClientState.Connected);

        Assert.Equal(4001, Assert.IsType<PubSubDisconnectedException>(lost.Error).DisconnectCode);
        Assert.True(Assert.IsType<PubSubDisconnectedException>(lost.Error).Reconnect);
    }

    [Theory, AllTransports]
    public async Task A_disconnect_for_good_closes_the_client_and_ends_every_subscription(PubSubTransport transport)
    {
        await using var node = await TestNode.StartAsync();
        await using var client = await ClientHarness.ConnectAsync(node, transport);
        var events = new ClientEvents(client);
        var subscription = await client.SubscribeAsync("chat/banned");
        await node.PublishNumbersAsync("chat/banned", [1]);

        node.CloseSession(client.SessionId!, 4500, "The application disconnected the client.");
        var closed = await events.NextAsync(PubSubClientState.Closed);
        var first = await subscription.Reader.ReadAsync().AsTask().WithTimeout("the message sent before the kick");
        var ended = await Assert.ThrowsAsync<PubSubDisconnectedException>(() => subscription.Completion.WithTimeout("the stream to end"));
        var publish = await Assert.ThrowsAsync<PubSubException>(() => client.PublishAsync("chat/banned", new { n = 2 }));

        var error = Assert.IsType<PubSubDisconnectedException>(closed.Error);
        Assert.Equal(4500, error.DisconnectCode);
        Assert.False(error.Reconnect);
        Assert.Contains("The application disconnected the client.", error.Message, StringComparison.Ordinal);
        Assert.Equal(4500, ended.DisconnectCode);
        Assert.Equal(1, first.N());
        Assert.Equal(PubSubErrorCodes.Closed, publish.Code);
        Assert.DoesNotContain(events.All, e => e.State == PubSubClientState.Reconnecting);
        Assert.Equal(0, node.SessionCount);
    }

    [Fact]
    public async Task A_closed_client_can_connect_again()
    {
        await using var node = await TestNode.StartAsync();
        await using var client = await ClientHarness.ConnectAsync(node);
        var events = new ClientEvents(client);
        node.CloseSession(client.SessionId!, 4500, "Go away.");
        await events.NextAsync(PubSubClientState.Closed);

        await client.ConnectAsync().WithTimeout("connect again");
        await using var subscription = await client.SubscribeAsync("chat/again");
        await client.PublishAsync("chat/again", new { n = 1 });

        Assert.Equal(PubSubClientState.Connected, client.State);
        Assert.Equal(1, (await subscription.ReadAsync(1))[0].N());
    }

    [Fact]
    public async Task A_long_polling_session_the_server_forgot_is_replaced_and_recovered()
    {
        await using var node = await TestNode.StartAsync();
        await using var client = await ClientHarness.ConnectAsync(node, PubSubTransport.LongPolling);
        var events = new ClientEvents(client);
        await using var subscription = await client.SubscribeAsync("chat/forgotten");
        await node.PublishNumbersAsync("chat/forgotten", [1]);
        await subscription.ReadAsync(1);

        // Gone without a word (as when its node died): the next poll gets 404 session_not_found.
        node.AbandonSession(client.SessionId!);
        var lost = await events.NextAsync(PubSubClientState.Reconnecting);
        await events.NextAsync(PubSubClientState.Connected);
        await client.PingAsync();
        await node.PublishNumbersAsync("chat/forgotten", [2]);

        Assert.Equal(PubSubErrorCodes.SessionNotFound, Assert.IsType<PubSubException>(lost.Error).Code);
        Assert.Equal(2, (await subscription.ReadAsync(1))[0].N());
    }

    [Fact]
    public async Task Without_a_reconnect_policy_a_lost_connection_closes_the_client()
    {
        await using var node = await TestNode.StartAsync();
        await using var client = await ClientHarness.ConnectAsync(node, configure: o => o.ReconnectPolicy = null);
        var events = new ClientEvents(client);
        var subscription = await client.SubscribeAsync("chat/once");

        node.CloseSession(client.SessionId!);
        var closed = await events.NextAsync(PubSubClientState.Closed);

        Assert.Equal(4003, Assert.IsType<PubSubDisconnectedException>(closed.Error).DisconnectCode);
        await Assert.ThrowsAsync<PubSubDisconnectedException>(() => subscription.Completion.WithTimeout("the stream to end"));
    }

    [Fact]
    public async Task The_policy_is_asked_after_every_failed_attempt_and_may_give_up()
    {
        var policy = new CountingPolicy(maxAttempts: 3);
        var node = await TestNode.StartAsync();
        await using var client = await ClientHarness.ConnectAsync(node, configure: o => o.ReconnectPolicy = policy);
        var events = new ClientEvents(client);

        await node.DisposeAsync();
        var closed = await events.NextAsync(PubSubClientState.Closed);

        Assert.Equal([0, 1, 2, 3], policy.Attempts);
        Assert.IsType<PubSubException>(closed.Error);
        Assert.Equal(PubSubErrorCodes.TransportFailed, ((PubSubException)closed.Error).Code);
    }

    [Fact]
    public async Task The_token_provider_is_called_on_every_connect_and_its_token_reaches_every_request()
    {
        var tokens = 0;
        var seen = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await using var node = await TestNode.StartAsync(map: app =>
        {
            app.Use(async (context, next) =>
            {
                seen.Enqueue($"{context.Request.Path} {context.Request.Headers.Authorization}");
                await next(context);
            });
            app.MapPubSub("/pubsub");
        });
        await using var client = await ClientHarness.ConnectAsync(node, PubSubTransport.LongPolling, o =>
            o.AccessTokenProvider = _ => ValueTask.FromResult<string?>($"token-{Interlocked.Increment(ref tokens)}"));
        var events = new ClientEvents(client);
        await client.PublishAsync("chat/token", new { n = 1 });

        node.CloseSession(client.SessionId!);
        await events.NextAsync(PubSubClientState.Connected);
        await client.PublishAsync("chat/token", new { n = 2 });

        Assert.Equal(2, tokens);
        Assert.All(seen, line => Assert.Matches("Bearer token-[12]$", line));
        Assert.Contains(seen, line => line == "/pubsub/send Bearer token-1");
        Assert.Contains(seen, line => line == "/pubsub/send Bearer token-2");
    }

    private sealed class CountingPolicy(int maxAttempts) : IReconnectPolicy
    {
        public List<int> Attempts { get; } = [];

        public TimeSpan? NextDelay(ReconnectContext context)
        {
            lock (Attempts)
            {
                Attempts.Add(context.PreviousAttempts);
            }
            return context.PreviousAttempts < maxAttempts ? TimeSpan.FromMilliseconds(10) : null;
        }
    }
}
