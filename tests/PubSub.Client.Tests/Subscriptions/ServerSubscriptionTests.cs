using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using PubSub.Client.Tests.Support;

namespace PubSub.Client.Tests.Subscriptions;

/// <summary>
/// Subscriptions the server makes for the client (its connect hook, <see cref="IPubSubControl.SubscribeAsync"/>):
/// surfaced through <see cref="PubSubClient.ServerSubscribed"/>, fed like any other, and whole
/// across reconnects (the gap read from history, before the live messages that came meanwhile);
/// and what the server says when it ends a subscription or the session.
/// </summary>
public sealed class ServerSubscriptionTests
{
    private readonly string _feed = "news/" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>A node whose connect hook subscribes every session to <see cref="_feed"/> (and <paramref name="alsoSubscribe"/>).</summary>
    private Task<TestNode> StartAsync(HistoryHoldingBroker? broker = null, string? alsoSubscribe = null, int port = 0) => TestNode.StartAsync(
        configure: o =>
        {
            o.Channel("short/{x}", c => c.History(2, TimeSpan.FromMinutes(5)));
            o.Channel("room/{x}", c => c.Presence());
            o.OnConnect = context =>
            {
                context.Subscribe(_feed);
                if (alsoSubscribe is not null)
                {
                    context.Subscribe(alsoSubscribe);
                }
                return ValueTask.CompletedTask;
            };
        },
        services: broker is null ? null : b => b.Services.Replace(ServiceDescriptor.Singleton<IBroker>(broker)),
        host: h => h.Services.AddTestAuthentication(),
        port: port);

    /// <summary>A connected client, and the server-side subscriptions it was told of, in order.</summary>
    private static async Task<(PubSubClient Client, ChannelReader<PubSubSubscription> Announced)> ConnectAsync(TestNode node, PubSubTransport transport, Action<PubSubClientOptions>? configure = null)
    {
        var client = ClientHarness.Create(node.PubSubUri(), transport, configure);
        var announced = Channel.CreateUnbounded<PubSubSubscription>();
        client.ServerSubscribed += (_, e) => announced.Writer.TryWrite(e.Subscription);
        await client.ConnectAsync().WithTimeout("the client to connect");
        return (client, announced.Reader);
    }

    [Theory, AllTransports]
    public async Task A_subscription_from_the_connect_hook_is_announced_and_receives_messages(PubSubTransport transport)
    {
        await using var node = await StartAsync();
        var (client, announced) = await ConnectAsync(node, transport);
        await using var _ = client;

        var feed = await announced.ReadAsync().AsTask().WithTimeout("the server-side subscription");
        await node.PublishNumbersAsync(_feed, [1, 2]);
        var messages = await feed.ReadAsync(2);

        Assert.Equal(_feed, feed.Channel);
        Assert.True(feed.IsServerSide);
        Assert.Equal(PubSubSubscriptionState.Subscribed, feed.State);
        Assert.Same(feed, client.GetSubscription(_feed));
        Assert.Equal([feed], client.Subscriptions);
        Assert.Equal([1, 2], messages.Select(m => m.N()));
    }

    [Theory, AllTransports]
    public async Task After_a_reconnect_a_server_side_subscription_gets_what_it_missed_from_history_once_and_in_order_before_live_messages(PubSubTransport transport)
    {
        var broker = new HistoryHoldingBroker();
        await using var node = await StartAsync(broker);
        using var gate = new GateHandler();
        var (client, announced) = await ConnectAsync(node, transport, o => o.HttpMessageHandler = gate);
        await using var _ = client;
        var events = new ClientEvents(client);
        var feed = await announced.ReadAsync().AsTask().WithTimeout("the server-side subscription");
        var missed = new List<PubSubMissedEventArgs>();
        feed.Missed += (_, e) => missed.Add(e);
        var resubscribed = new TaskCompletionSource<PubSubResubscribedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        feed.Resubscribed += (_, e) => resubscribed.TrySetResult(e);
        await node.PublishNumbersAsync(_feed, [1, 2]);
        await feed.ReadAsync(2);

        // Disconnected: the reconnect waits at the gate while 3 to 5 are published.
        gate.Close();
        node.CloseSession(client.SessionId!);
        await events.NextAsync(PubSubClientState.Reconnecting);
        await node.PublishNumbersAsync(_feed, [3, 4, 5]);
        broker.HoldHistoryReads();
        gate.Open();
        // The server subscribed the new session at 5; while the client reads 3 to 5, 6 comes live.
        await broker.Reading.WithTimeout("the client to read the channel's history");
        await node.PublishNumbersAsync(_feed, [6]);
        broker.Release();
        var caughtUp = await feed.ReadAsync(4);
        await node.PublishNumbersAsync(_feed, [7]);
        var next = await feed.ReadAsync(1);

        Assert.Equal([3, 4, 5, 6, 7], caughtUp.Concat(next).Select(m => m.N()));
        Assert.Empty(missed);
        Assert.True((await resubscribed.Task.WithTimeout("Resubscribed")).Recovered);
        Assert.Same(feed, client.GetSubscription(_feed));
        Assert.False(announced.TryRead(out var again), $"announced again: {again?.Channel}");
    }

    [Theory]
    [InlineData(PubSubTransport.ServerSentEvents)]
    [InlineData(PubSubTransport.LongPolling)]
    public async Task A_server_side_subscription_moves_with_an_upgrade_to_websocket_without_a_loss_or_a_repeat(PubSubTransport fallback)
    {
        var refusing = new WebSocketRefusal();
        await using var node = await TestNode.StartAsync(
            configure: o => o.OnConnect = context =>
            {
                context.Subscribe(_feed);
                return ValueTask.CompletedTask;
            },
            map: refusing.Map);
        var (client, announced) = await ConnectAsync(node, PubSubTransport.WebSocket, o =>
        {
            o.Transports.Add(fallback);
            o.UpgradeProbeInterval = TimeSpan.FromMilliseconds(100);
        });
        await using var _ = client;
        var upgraded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.StateChanged += (_, e) =>
        {
            if (e.Transport == PubSubTransport.WebSocket)
            {
                upgraded.TrySetResult();
            }
        };
        var feed = await announced.ReadAsync().AsTask().WithTimeout("the server-side subscription");
        var missed = 0;
        feed.Missed += (_, _) => Interlocked.Increment(ref missed);
        Assert.Equal(fallback, client.Transport);
        await node.PublishNumbersAsync(_feed, [1, 2, 3]);
        var before = await feed.ReadAsync(3);

        // The probe's session is subscribed by the connect hook too, at the latest position: it
        // subscribes again from the feed's, and only then takes over.
        refusing.Allow();
        await upgraded.Task.WithTimeout("the move to WebSocket");
        await node.PublishNumbersAsync(_feed, [4, 5]);
        var after = await feed.ReadAsync(2);

        Assert.Equal([1, 2, 3, 4, 5], before.Concat(after).Select(m => m.N()));
        Assert.Equal(0, missed);
        Assert.Same(feed, client.GetSubscription(_feed));
        Assert.False(announced.TryRead(out var again), $"announced again: {again?.Channel}");
    }

    [Fact]
    public async Task A_gap_history_no_longer_covers_is_reported_as_missed_and_the_rest_delivered()
    {
        var channel = "short/" + Guid.NewGuid().ToString("N")[..8];
        await using var node = await StartAsync(alsoSubscribe: channel);
        using var gate = new GateHandler();
        var (client, announced) = await ConnectAsync(node, PubSubTransport.WebSocket, o => o.HttpMessageHandler = gate);
        await using var _ = client;
        var events = new ClientEvents(client);
        PubSubSubscription? shortFeed = null;
        while (shortFeed is null)
        {
            var next = await announced.ReadAsync().AsTask().WithTimeout("the server-side subscriptions");
            shortFeed = next.Channel == channel ? next : null;
        }
        var missed = new TaskCompletionSource<PubSubMissedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        shortFeed.Missed += (_, e) => missed.TrySetResult(e);
        await node.PublishNumbersAsync(channel, [1]);
        var first = (await shortFeed.ReadAsync(1))[0];

        gate.Close();
        node.CloseSession(client.SessionId!);
        await events.NextAsync(PubSubClientState.Reconnecting);
        // History keeps 2: of 2 to 5 only 4 and 5 remain.
        await node.PublishNumbersAsync(channel, [2, 3, 4, 5]);
        gate.Open();
        var gap = await missed.Task.WithTimeout("the Missed event");
        var rest = await shortFeed.ReadAsync(2);

        Assert.Equal(first.Position, gap.From);
        // The stream goes on after 3: the next message is 4.
        Assert.Equal(first.Position.Offset + 2, gap.Position.Offset);
        Assert.Equal([4, 5], rest.Select(m => m.N()));
    }

    [Fact]
    public async Task A_server_side_channel_in_a_new_epoch_after_a_reconnect_is_reported_as_missed()
    {
        var first = await StartAsync();
        using var gate = new GateHandler();
        var (client, announced) = await ConnectAsync(first, PubSubTransport.WebSocket, o => o.HttpMessageHandler = gate);
        await using var _ = client;
        var events = new ClientEvents(client);
        var feed = await announced.ReadAsync().AsTask().WithTimeout("the server-side subscription");
        var missed = new TaskCompletionSource<PubSubMissedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        feed.Missed += (_, e) => missed.TrySetResult(e);
        await first.PublishNumbersAsync(_feed, [1]);
        var before = (await feed.ReadAsync(1))[0];

        // A node with a broker of its own comes back on the same port: the channel's history is gone, and its epoch with it.
        gate.Close();
        var port = first.BaseUri.Port;
        await first.DisposeAsync();
        await events.NextAsync(PubSubClientState.Reconnecting);
        await using var second = await StartAsync(port: port);
        await second.PublishNumbersAsync(_feed, [10]);
        gate.Open();
        var gap = await missed.Task.WithTimeout("the Missed event");
        await second.PublishNumbersAsync(_feed, [11]);
        var next = (await feed.ReadAsync(1))[0];

        Assert.Equal(before.Position, gap.From);
        Assert.NotEqual(before.Position.Epoch, gap.Position.Epoch);
        Assert.Equal((11, gap.Position.Epoch), (next.N(), next.Position.Epoch));
        Assert.False(feed.Recovered);
    }

    [Fact]
    public async Task A_subscription_by_the_server_api_is_announced_on_the_users_client()
    {
        var channel = "chat/" + Guid.NewGuid().ToString("N")[..8];
        await using var node = await StartAsync();
        var (client, announced) = await ConnectAsync(node, PubSubTransport.WebSocket, o => o.Headers[TestAuthenticationHandler.UserHeader] = "alice");
        await using var _ = client;
        await announced.ReadAsync().AsTask().WithTimeout("the connect hook's subscription");

        await node.Services.GetRequiredService<IPubSubControl>().SubscribeAsync(SessionTarget.User("alice"), channel);
        var chat = await announced.ReadAsync().AsTask().WithTimeout("the server API's subscription");
        await client.PublishAsync(channel, new { n = 1 });

        Assert.Equal(channel, chat.Channel);
        Assert.Equal(1, (await chat.ReadAsync(1))[0].N());
    }

    [Fact]
    public async Task Unsubscribing_from_a_server_side_subscription_tells_the_server()
    {
        var room = "room/" + Guid.NewGuid().ToString("N")[..8];
        await using var node = await StartAsync(alsoSubscribe: room);
        var (client, _) = await ConnectAsync(node, PubSubTransport.WebSocket);
        await using var __ = client;
        var control = node.Services.GetRequiredService<IPubSubControl>();
        await Timeouts.Until(() => client.GetSubscription(room) is not null, "the room's server-side subscription");
        Assert.Equal(1, (await control.PresenceStatsAsync(room)).Clients);

        await client.GetSubscription(room)!.UnsubscribeAsync().AsTask().WithTimeout("the unsubscribe");

        Assert.Equal(0, (await control.PresenceStatsAsync(room)).Clients);
        Assert.Null(client.GetSubscription(room));
    }

    [Theory, AllTransports]
    public async Task An_unsubscribe_by_the_server_ends_the_subscription_with_its_code_and_reason(PubSubTransport transport)
    {
        var channel = "chat/" + Guid.NewGuid().ToString("N")[..8];
        await using var node = await StartAsync();
        var (client, _) = await ConnectAsync(node, transport);
        await using var __ = client;
        var subscription = await client.SubscribeAsync(channel);
        var unsubscribed = new TaskCompletionSource<PubSubUnsubscribedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        subscription.Unsubscribed += (_, e) => unsubscribed.TrySetResult(e);

        await node.Services.GetRequiredService<IPubSubControl>().UnsubscribeAsync(SessionTarget.Session(client.SessionId!), channel, "banned", "Spam.");
        var e = await unsubscribed.Task.WithTimeout("the Unsubscribed event");
        var ended = await Assert.ThrowsAsync<PubSubException>(() => subscription.Completion.WithTimeout("the stream to end"));

        Assert.Equal((channel, "banned", "Spam."), (e.Channel, e.Code, e.Reason));
        Assert.Equal(PubSubSubscriptionState.EndedByServer, subscription.State);
        Assert.Equal("banned", ended.Code);
        Assert.Null(client.GetSubscription(channel));
    }

    [Theory]
    [InlineData(4100, true)]
    [InlineData(4500, false)]
    public async Task A_disconnect_by_the_server_carries_its_code_reason_and_whether_the_client_reconnects(int code, bool reconnects)
    {
        await using var node = await StartAsync();
        var (client, _) = await ConnectAsync(node, PubSubTransport.WebSocket);
        await using var __ = client;
        var events = new ClientEvents(client);

        await node.Services.GetRequiredService<IPubSubControl>().DisconnectAsync(SessionTarget.Session(client.SessionId!), code, "Moved elsewhere.");
        var change = await events.NextAsync(reconnects ? PubSubClientState.Reconnecting : PubSubClientState.Closed);

        Assert.Equal((code, "Moved elsewhere.", reconnects), (change.DisconnectCode, change.DisconnectReason, change.WillReconnect));
    }

    /// <summary>A memory broker whose history reads can be held, so a test can publish while a client reads history.</summary>
    private sealed class HistoryHoldingBroker : MemoryBrokerDecorator
    {
        private readonly TaskCompletionSource _reading = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private volatile bool _hold;

        /// <summary>Completes when a read from a position is held.</summary>
        public Task Reading => _reading.Task;

        public void HoldHistoryReads() => _hold = true;

        public void Release() => _release.TrySetResult();

        public override async ValueTask<HistoryPage> ReadHistoryAsync(string channel, HistoryQuery query, CancellationToken cancellationToken)
        {
            if (_hold && query.SinceOffset is not null)
            {
                _reading.TrySetResult();
                await _release.Task.WaitAsync(cancellationToken);
            }
            return await Inner.ReadHistoryAsync(channel, query, cancellationToken);
        }
    }
}
