using Microsoft.Extensions.DependencyInjection;
using System.Text.Json;

namespace PubSub.Server.Tests.Transports;

/// <summary>
/// A spec-following EventSource that nobody here wrote (the <c>eventsource</c> npm package, run by
/// Node) against real nodes behind a real load balancer without affinity (HAProxy in TCP mode,
/// round robin). When its stream is cut, it reconnects on its own with Last-Event-ID, lands on the
/// other node, and continues with nothing missed and nothing doubled.
/// </summary>
public sealed class EventSourceInteropTests : IAsyncLifetime
{
    private readonly MemoryBackplane _backplane = new();
    private TestNode _nodeA = null!;
    private TestNode _nodeB = null!;
    private HaProxy _balancer = null!;

    public async Task InitializeAsync()
    {
        _nodeA = await TestNode.StartAsync(services: b => b.AddMemoryBroker(_backplane));
        _nodeB = await TestNode.StartAsync(services: b => b.AddMemoryBroker(_backplane));
        _balancer = await HaProxy.StartAsync($$"""
            frontend clients
              bind 127.0.0.1:{port}
              default_backend nodes

            backend nodes
              balance roundrobin
              server a 127.0.0.1:{{_nodeA.BaseUri.Port}}
              server b 127.0.0.1:{{_nodeB.BaseUri.Port}}
            """);
    }

    public async Task DisposeAsync()
    {
        await _balancer.DisposeAsync();
        await _nodeA.DisposeAsync();
        await _nodeB.DisposeAsync();
        _backplane.Dispose();
    }

    private static string Type(JsonElement line) => line.GetProperty("data").GetProperty("type").GetString()!;

    private static bool IsFrame(JsonElement line, string type) => line.TryGetProperty("data", out var data) && data.GetProperty("type").GetString() == type;

    [Fact]
    public async Task A_native_event_source_resumes_on_another_node_with_nothing_missed_or_doubled()
    {
        await using var client = NodeScript.Start("eventsource-client.mjs", $"{_balancer.BaseUri}pubsub/sse?channel=chat/interop");
        var (firstConnected, _) = await client.NextWhereAsync(l => IsFrame(l, "connected"));
        await client.NextWhereAsync(l => IsFrame(l, "subscribed"));
        var firstNode = firstConnected.GetProperty("data").GetProperty("node").GetString();
        var offsets = new List<long>();

        await _nodeA.Publisher.PublishAsync("chat/interop", new { n = 1 });
        await _nodeB.Publisher.PublishAsync("chat/interop", new { n = 2 });
        offsets.Add((await client.NextWhereAsync(l => IsFrame(l, "message"))).Match.GetProperty("data").GetProperty("offset").GetInt64());
        offsets.Add((await client.NextWhereAsync(l => IsFrame(l, "message"))).Match.GetProperty("data").GetProperty("offset").GetInt64());

        // Cut the stream from the server side; publish while the client is away.
        var session = firstConnected.GetProperty("data").GetProperty("session").GetString()!;
        (firstNode == _nodeA.NodeId ? _nodeA : _nodeB).CloseSession(session);
        await _nodeA.Publisher.PublishAsync("chat/interop", new { n = 3 });
        await _nodeB.Publisher.PublishAsync("chat/interop", new { n = 4 });

        var (secondConnected, between) = await client.NextWhereAsync(l => IsFrame(l, "connected"));
        var (subscribed, _) = await client.NextWhereAsync(l => IsFrame(l, "subscribed"));
        offsets.Add((await client.NextWhereAsync(l => IsFrame(l, "message"))).Match.GetProperty("data").GetProperty("offset").GetInt64());
        offsets.Add((await client.NextWhereAsync(l => IsFrame(l, "message"))).Match.GetProperty("data").GetProperty("offset").GetInt64());
        await _nodeA.Publisher.PublishAsync("chat/interop", new { n = 5 });
        offsets.Add((await client.NextWhereAsync(l => IsFrame(l, "message"))).Match.GetProperty("data").GetProperty("offset").GetInt64());

        Assert.Contains(between, l => IsFrame(l, "disconnect"));
        Assert.DoesNotContain(between, l => IsFrame(l, "message"));
        Assert.NotEqual(firstNode, secondConnected.GetProperty("data").GetProperty("node").GetString());
        Assert.True(subscribed.GetProperty("data").GetProperty("recovered").GetBoolean());
        Assert.Equal([1L, 2, 3, 4, 5], offsets);
    }
}
