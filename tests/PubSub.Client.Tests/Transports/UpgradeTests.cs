using PubSub.Client.Tests.Support;

namespace PubSub.Client.Tests.Transports;

/// <summary>
/// The upgrade probe: a client that fell back to SSE or long-polling tries WebSocket in the
/// background and, once it connects, moves its subscriptions to it from their positions and drops
/// the fallback, without losing or repeating a publication (as client-js does).
/// </summary>
public sealed class UpgradeTests
{
    [Theory]
    [InlineData(PubSubTransport.ServerSentEvents)]
    [InlineData(PubSubTransport.LongPolling)]
    public async Task Moves_to_websocket_once_it_works_and_a_stream_published_throughout_arrives_exactly_once_in_order(PubSubTransport fallback)
    {
        var (node, allowWebSockets) = await StartRefusingWebSocketsAsync();
        await using var _ = node;
        await using var client = await ClientHarness.ConnectAsync(node, configure: o =>
        {
            o.Transports.Clear();
            o.Transports.Add(PubSubTransport.WebSocket);
            o.Transports.Add(fallback);
            o.UpgradeProbeInterval = TimeSpan.FromMilliseconds(100);
        });
        var upgraded = new TaskCompletionSource<PubSubStateChangedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.StateChanged += (_, e) =>
        {
            if (e.Transport == PubSubTransport.WebSocket)
            {
                upgraded.TrySetResult(e);
            }
        };
        Assert.Equal(fallback, client.Transport);
        var fallbackSession = client.SessionId!;
        await using var subscription = await client.SubscribeAsync("chat/upgrade");
        var missed = 0;
        subscription.Missed += (_, _) => Interlocked.Increment(ref missed);
        using var closed = node.CollectMetric<long>("pubsub.session.closed");

        // Publications throughout: at most 10 ahead of what was read (well inside the channel's
        // history of 100, so the new session can replay what the old one had not delivered),
        // WebSocket allowed after the 20th, until 40 after the move.
        var received = new List<int>();
        var published = 0;
        var upgradedAfter = -1;
        using var deadline = new CancellationTokenSource(Timeouts.Default);
        while (upgradedAfter < 0 || published < upgradedAfter + 40)
        {
            Assert.False(deadline.IsCancellationRequested, $"the client did not move to WebSocket ({published} published)");
            while (published < received.Count + 10)
            {
                published++;
                await node.Publisher.PublishAsync("chat/upgrade", new { n = published });
                if (published == 20)
                {
                    allowWebSockets();
                }
            }
            received.Add((await subscription.ReadAsync(1))[0].N());
            if (upgradedAfter < 0 && upgraded.Task.IsCompleted)
            {
                upgradedAfter = published;
            }
        }
        received.AddRange((await subscription.ReadAsync(published - received.Count)).Select(m => m.N()));
        // Nothing is repeated after the last one either: the next publication is the next message.
        await node.Publisher.PublishAsync("chat/upgrade", new { n = published + 1 });
        received.Add((await subscription.ReadAsync(1))[0].N());

        Assert.Equal(Enumerable.Range(1, published + 1), received);
        Assert.True(upgradedAfter >= 20, $"moved after {upgradedAfter} publications, before WebSocket was allowed");
        var move = await upgraded.Task;
        Assert.Equal((PubSubClientState.Connected, PubSubClientState.Connected), (move.PreviousState, move.State));
        Assert.Equal(PubSubTransport.WebSocket, client.Transport);
        Assert.NotEqual(fallbackSession, client.SessionId);
        Assert.Equal(0, Volatile.Read(ref missed));
        Assert.False(subscription.Completion.IsCompleted);
        // The fallback session is dropped; the client publishes and reads history on the new one.
        await closed.WaitForMeasurementsAsync(1, Timeouts.Default).WithTimeout("the fallback session to close");
        Assert.False(node.HasSession(fallbackSession));
        Assert.True(node.HasSession(client.SessionId!));
        Assert.Equal(published + 2, (await client.PublishAsync("chat/upgrade", new { n = published + 2 })).Offset);
    }

    [Fact]
    public async Task Requests_in_flight_during_the_move_are_answered()
    {
        var (node, allowWebSockets) = await StartRefusingWebSocketsAsync();
        await using var _ = node;
        await using var client = await ClientHarness.ConnectAsync(node, configure: o => o.UpgradeProbeInterval = TimeSpan.FromMilliseconds(50));
        var upgraded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.StateChanged += (_, e) =>
        {
            if (e.Transport == PubSubTransport.WebSocket)
            {
                upgraded.TrySetResult();
            }
        };
        Assert.Equal(PubSubTransport.ServerSentEvents, client.Transport);

        allowWebSockets();
        // Publishes kept 8 in flight: on the old session, the new one, and across the move.
        var publishes = new List<Task<StreamPosition>>();
        using var deadline = new CancellationTokenSource(Timeouts.Default);
        while (!upgraded.Task.IsCompleted)
        {
            Assert.False(deadline.IsCancellationRequested, "the client did not move to WebSocket");
            while (publishes.Count(p => !p.IsCompleted) < 8)
            {
                publishes.Add(client.PublishAsync("chat/busy", new { n = publishes.Count + 1 }));
            }
            await Task.WhenAny(publishes.Where(p => !p.IsCompleted).Cast<Task>().Append(upgraded.Task)).WithTimeout("a publish or the move");
        }
        publishes.Add(client.PublishAsync("chat/busy", new { n = publishes.Count + 1 }));

        var offsets = await Task.WhenAll(publishes).WithTimeout("every publish to be answered");
        Assert.Equal(Enumerable.Range(1, publishes.Count).Select(i => (long)i), offsets.Select(p => p.Offset).Order());
        Assert.Equal(PubSubTransport.WebSocket, client.Transport);
    }

    /// <summary>A node behind what acts as a proxy that refuses WebSocket upgrades (503) until it is fixed.</summary>
    private static async Task<(TestNode Node, Action AllowWebSockets)> StartRefusingWebSocketsAsync()
    {
        var refusing = new WebSocketRefusal();
        var node = await TestNode.StartAsync(map: refusing.Map);
        return (node, refusing.Allow);
    }
}
