using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using PubSub.Client.Tests.Support;

namespace PubSub.Client.Tests.Connections;

/// <summary>
/// A deploy, as an operator runs one: two nodes sharing a broker behind a real HAProxy in TCP mode
/// that asks <c>/healthz/ready</c>, and the first node stopped with a drain configured. The node
/// turns not-ready, keeps serving through the drain delay, then moves its clients over the drain
/// window, a few at a time; they come back through the balancer to the other node and recover,
/// every publication once and in order, whatever their transport.
/// </summary>
public sealed class DrainTests : IAsyncLifetime
{
    private static readonly TimeSpan s_delay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan s_window = TimeSpan.FromSeconds(2);

    private readonly MemoryBackplane _backplane = new();
    private TestNode _draining = null!;
    private TestNode _other = null!;
    private HaProxy _proxy = null!;

    public async Task InitializeAsync()
    {
        _draining = await TestNode.StartAsync(
            o =>
            {
                o.Drain.Delay = s_delay;
                o.Drain.Window = s_window;
            },
            services: s => s.AddMemoryBroker(_backplane),
            map: MapWithHealth);
        _other = await TestNode.StartAsync(services: s => s.AddMemoryBroker(_backplane), map: MapWithHealth);
        // 'balance first' sends every connection to the first node while it is up, so every client
        // starts on the node that drains; the health check takes it out when it turns not-ready.
        _proxy = await HaProxy.StartAsync($$"""
            frontend balancer
              bind 127.0.0.1:{port}
              default_backend nodes

            backend nodes
              balance first
              option httpchk GET /healthz/ready
              server draining 127.0.0.1:{{_draining.BaseUri.Port}} check inter 100ms fall 1 rise 1 maxconn 1000
              server other 127.0.0.1:{{_other.BaseUri.Port}} check inter 100ms fall 1 rise 1 maxconn 1000
            """);
        // HAProxy sends nothing to a server before its first health check passed.
        using var http = new HttpClient { BaseAddress = _proxy.BaseUri, Timeout = Timeouts.Default };
        await Timeouts.Until(async () =>
        {
            try
            {
                return (await http.GetAsync("healthz/ready")).IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, "the balancer to see the first node up");
    }

    public async Task DisposeAsync()
    {
        await _proxy.DisposeAsync();
        await _draining.DisposeAsync();
        await _other.DisposeAsync();
        _backplane.Dispose();
    }

    private static readonly TimeSpan s_timerGranularity = TimeSpan.FromMilliseconds(20);

    [Fact]
    public async Task A_draining_node_turns_unready_then_moves_its_clients_to_the_other_node_spread_over_the_window_losing_nothing()
    {
        const string Channel = "chat/deploy";
        var clients = new List<(PubSubClient Client, ClientEvents Events, PubSubSubscription Subscription)>();
        var moved = new List<DateTimeOffset>();
        foreach (var transport in ClientHarness.AllTransports.Concat(ClientHarness.AllTransports))
        {
            var client = ClientHarness.Create(new Uri(_proxy.BaseUri, "pubsub"), transport);
            var events = new ClientEvents(client);
            // When the client was told to go, not when the test got round to looking.
            client.StateChanged += (_, e) =>
            {
                if (e.State == PubSubClientState.Reconnecting)
                {
                    lock (moved)
                    {
                        moved.Add(DateTimeOffset.UtcNow);
                    }
                }
            };
            await client.ConnectAsync().WithTimeout("connect through the balancer");
            clients.Add((client, events, await client.SubscribeAsync(Channel)));
        }
        Assert.All(clients, c => Assert.StartsWith(_draining.NodeId + ".", c.Client.SessionId, StringComparison.Ordinal));
        await _other.PublishNumbersAsync(Channel, Enumerable.Range(1, 10));

        var stopRequested = DateTimeOffset.UtcNow;
        var stopping = _draining.DisposeAsync().AsTask();
        using var http = new HttpClient { BaseAddress = _draining.BaseUri, Timeout = Timeouts.Default };
        await Timeouts.Until(async () => (await http.GetAsync("healthz/ready")).StatusCode == HttpStatusCode.ServiceUnavailable, "the draining node to report not-ready");
        var next = 11;
        foreach (var (_, events, _) in clients)
        {
            await events.NextAsync(PubSubClientState.Reconnecting);
            // Publications keep coming while clients move.
            await _other.PublishNumbersAsync(Channel, Enumerable.Range(next, 5));
            next += 5;
        }
        foreach (var (_, events, _) in clients)
        {
            await events.NextAsync(PubSubClientState.Connected);
        }
        await _other.PublishNumbersAsync(Channel, Enumerable.Range(next, 5));
        var total = next + 4;
        await stopping.WithTimeout("the drained node to stop");

        // Lower bounds only: a slow machine can stretch the drain, never shorten it.
        List<DateTimeOffset> times;
        lock (moved)
        {
            times = [.. moved];
        }
        Assert.Equal(clients.Count, times.Count);
        // Less a timer tick: .NET timers count whole milliseconds of a coarser clock than UtcNow,
        // so a 1 s delay can end at 999.6 ms of wall time (a loaded run saw exactly that).
        Assert.True(times.Min() - stopRequested >= s_delay - s_timerGranularity, $"a client was moved {(times.Min() - stopRequested).TotalMilliseconds:0} ms after the stop, within the drain delay");
        foreach (var (client, _, subscription) in clients)
        {
            var received = await subscription.ReadAsync(total);
            Assert.Equal(Enumerable.Range(1, total), received.Select(m => m.N()));
            Assert.StartsWith(_other.NodeId + ".", client.SessionId, StringComparison.Ordinal);
        }
        // Six clients over a 2 s window: the last is asked to go 5/6 of it after the first.
        var spread = times.Max() - times.Min();
        Assert.True(spread >= s_window / 2, $"the clients moved within {spread.TotalMilliseconds:0} ms of each other, not spread over {s_window}");
        foreach (var (client, _, _) in clients)
        {
            await client.DisposeAsync();
        }
    }

    private static void MapWithHealth(WebApplication app)
    {
        app.MapPubSub("/pubsub");
        app.MapPubSubApi("/api");
        app.MapPubSubHealthChecks("/healthz");
    }
}
