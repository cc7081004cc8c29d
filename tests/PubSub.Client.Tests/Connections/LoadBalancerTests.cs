using Microsoft.Extensions.DependencyInjection;
using PubSub.Client.Tests.Support;

namespace PubSub.Client.Tests.Connections;

/// <summary>
/// Two nodes sharing a broker behind a real HAProxy in TCP mode with no affinity, as deployed:
/// every request may land on either node, and when the node that owns the session stops, the
/// client comes back through the other and recovers, with every publication once and in order.
/// </summary>
public sealed class LoadBalancerTests : IAsyncLifetime
{
    private readonly MemoryBackplane _backplane = new();
    private TestNode _a = null!;
    private TestNode _b = null!;
    private HaProxy _proxy = null!;

    public async Task InitializeAsync()
    {
        _a = await TestNode.StartAsync(services: s => s.AddMemoryBroker(_backplane));
        _b = await TestNode.StartAsync(services: s => s.AddMemoryBroker(_backplane));
        _proxy = await HaProxy.StartAsync($$"""
            frontend balancer
              bind 127.0.0.1:{port}
              default_backend nodes

            backend nodes
              balance roundrobin
              option redispatch
              retries 3
              server a 127.0.0.1:{{_a.BaseUri.Port}} check inter 200ms fall 1 rise 1
              server b 127.0.0.1:{{_b.BaseUri.Port}} check inter 200ms fall 1 rise 1
            """);
    }

    public async Task DisposeAsync()
    {
        await _proxy.DisposeAsync();
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        _backplane.Dispose();
    }

    [Theory, AllTransports]
    public async Task When_the_owning_node_stops_the_client_recovers_through_the_other(PubSubTransport transport)
    {
        await using var client = ClientHarness.Create(new Uri(_proxy.BaseUri, "pubsub"), transport);
        var events = new ClientEvents(client);
        await client.ConnectAsync().WithTimeout("connect through the balancer");
        await using var subscription = await client.SubscribeAsync("chat/balanced");
        for (var n = 1; n <= 3; n++)
        {
            await client.PublishAsync("chat/balanced", new { n });
        }
        var before = await subscription.ReadAsync(3);
        var (owner, other) = client.SessionId!.StartsWith(_a.NodeId + ".", StringComparison.Ordinal) ? (_a, _b) : (_b, _a);

        await owner.DisposeAsync();
        await events.NextAsync(PubSubClientState.Reconnecting);
        await other.PublishNumbersAsync("chat/balanced", [4, 5, 6]);
        await events.NextAsync(PubSubClientState.Connected);
        await client.PublishAsync("chat/balanced", new { n = 7 });
        var after = await subscription.ReadAsync(4);

        Assert.Equal(Enumerable.Range(1, 7), before.Concat(after).Select(m => m.N()));
        Assert.Equal(Enumerable.Range(1, 7).Select(i => (long)i), before.Concat(after).Select(m => m.Offset));
        Assert.StartsWith(other.NodeId + ".", client.SessionId, StringComparison.Ordinal);
        Assert.Equal(transport, client.Transport);
        await client.DisposeAsync();
    }
}
