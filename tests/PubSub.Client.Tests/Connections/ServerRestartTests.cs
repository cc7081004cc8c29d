using Microsoft.Extensions.DependencyInjection;
using PubSub.Client.Tests.Support;

namespace PubSub.Client.Tests.Connections;

/// <summary>
/// A node stops and another starts on the same port, with the broker's history surviving (as
/// Redis outlives a restarting node): the client reconnects and recovers from its positions.
/// </summary>
public sealed class ServerRestartTests
{
    [Theory, AllTransports]
    public async Task After_a_server_restart_every_publication_arrives_exactly_once_and_in_order(PubSubTransport transport)
    {
        // The backplane outlives the nodes, as Redis outlives a restarting node.
        using var backplane = new MemoryBackplane();
        var first = await TestNode.StartAsync(services: b => b.AddMemoryBroker(backplane));
        var port = first.BaseUri.Port;
        using var gate = new GateHandler();
        await using var client = await ClientHarness.ConnectAsync(first, transport, o => o.HttpMessageHandler = gate);
        var events = new ClientEvents(client);
        await using var subscription = await client.SubscribeAsync("chat/restart");
        var resubscribed = new TaskCompletionSource<PubSubResubscribedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        subscription.Resubscribed += (_, e) => resubscribed.TrySetResult(e);
        await first.PublishNumbersAsync("chat/restart", Enumerable.Range(1, 5));
        var before = await subscription.ReadAsync(5);
        var firstSession = client.SessionId;

        // The node says goodbye (4000) as it stops; the gate keeps the client from reconnecting
        // to it while it is still stopping.
        gate.Close();
        if (transport == PubSubTransport.LongPolling)
        {
            // A stopping node hands its goodbye to a held poll; a client between two polls would
            // find the port closed instead (and reconnect all the same, after its poll retries).
            await Timeouts.Until(() => first.IsPollHeld(firstSession!), "the client's poll to be held");
        }
        await first.DisposeAsync();
        var lost = await events.NextAsync(PubSubClientState.Reconnecting);
        // Published while no node serves the client: only recovery can deliver these.
        await using (var other = await TestNode.StartAsync(services: b => b.AddMemoryBroker(backplane)))
        {
            await other.PublishNumbersAsync("chat/restart", Enumerable.Range(6, 5));
        }
        await using var second = await TestNode.StartAsync(services: b => b.AddMemoryBroker(backplane), port: port);
        gate.Open();
        var back = await events.NextAsync(PubSubClientState.Connected);
        var recovery = await resubscribed.Task.WithTimeout("the resubscribe");
        await second.PublishNumbersAsync("chat/restart", Enumerable.Range(11, 5));
        var after = await subscription.ReadAsync(10);

        Assert.Equal(Enumerable.Range(1, 15), before.Concat(after).Select(m => m.N()));
        Assert.Equal(Enumerable.Range(1, 15).Select(i => (long)i), before.Concat(after).Select(m => m.Offset));
        Assert.True(recovery.Recovered);
        Assert.Equal(5, recovery.Since!.Value.Offset);
        Assert.Equal(10, recovery.Position.Offset);
        Assert.True(subscription.Recovered);
        Assert.Equal(transport, back.Transport);
        Assert.NotEqual(firstSession, client.SessionId);
        Assert.True(lost.Error is PubSubDisconnectedException { DisconnectCode: 4000 }, $"Lost with {lost.Error}");
        Assert.False(subscription.Reader.TryRead(out _), "nothing more than the 15 publications");
        // Before the node goes: a client still connected would hold up its shutdown.
        await client.DisposeAsync();
    }

    [Fact]
    public async Task When_history_cannot_cover_the_gap_the_subscription_says_so_and_continues()
    {
        using var backplane = new MemoryBackplane();
        var first = await TestNode.StartAsync(services: b => b.AddMemoryBroker(backplane));
        var port = first.BaseUri.Port;
        using var gate = new GateHandler();
        await using var client = await ClientHarness.ConnectAsync(first, PubSubTransport.WebSocket, o => o.HttpMessageHandler = gate);
        var events = new ClientEvents(client);
        await using var subscription = await client.SubscribeAsync("nohistory/gap");
        var resubscribed = new TaskCompletionSource<PubSubResubscribedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        subscription.Resubscribed += (_, e) => resubscribed.TrySetResult(e);
        await first.PublishNumbersAsync("nohistory/gap", [1]);
        await subscription.ReadAsync(1);

        gate.Close();
        await first.DisposeAsync();
        await events.NextAsync(PubSubClientState.Reconnecting);
        await using (var other = await TestNode.StartAsync(services: b => b.AddMemoryBroker(backplane)))
        {
            await other.PublishNumbersAsync("nohistory/gap", [2, 3]);
        }
        await using var second = await TestNode.StartAsync(services: b => b.AddMemoryBroker(backplane), port: port);
        gate.Open();
        var gap = await resubscribed.Task.WithTimeout("the resubscribe");
        await second.PublishNumbersAsync("nohistory/gap", [4]);
        var next = (await subscription.ReadAsync(1))[0];

        Assert.False(gap.Recovered);
        Assert.Equal(1, gap.Since!.Value.Offset);
        Assert.Equal(3, gap.Position.Offset);
        Assert.False(subscription.Recovered);
        Assert.Equal(4, next.N());
        Assert.Equal(4, next.Offset);
        await client.DisposeAsync();
    }
}
