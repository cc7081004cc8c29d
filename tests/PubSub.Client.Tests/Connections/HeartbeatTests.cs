using Microsoft.Extensions.DependencyInjection;
using PubSub.Client.Tests.Support;

namespace PubSub.Client.Tests.Connections;

/// <summary>
/// Heartbeats (protocol section 2.6): the client answers the server's pings, and counts silence
/// beyond the ping interval plus its margin as a dead connection. Clocks are manual: nothing sleeps.
/// </summary>
public sealed class HeartbeatTests
{
    [Fact]
    public async Task The_client_answers_server_pings_so_the_server_keeps_the_session()
    {
        var serverTime = new ManualTimeProvider();
        await using var node = await TestNode.StartAsync(host: h => h.Services.AddSingleton<TimeProvider>(serverTime));
        await using var client = await ClientHarness.ConnectAsync(node, PubSubTransport.WebSocket);
        var session = client.SessionId!;

        for (var round = 0; round < 3; round++)
        {
            serverTime.Advance(TimeSpan.FromSeconds(round == 0 ? 25 : 15));
            await Timeouts.Until(() => node.PingAnswered(session), $"the client to answer ping {round + 1}");
            serverTime.Advance(TimeSpan.FromSeconds(10));
        }
        await client.PingAsync();

        Assert.True(node.HasSession(session));
        Assert.Equal(session, client.SessionId);
        Assert.Equal(PubSubClientState.Connected, client.State);
    }

    [Theory]
    [InlineData(PubSubTransport.WebSocket)]
    [InlineData(PubSubTransport.ServerSentEvents)]
    public async Task Silence_beyond_the_heartbeat_and_margin_counts_as_a_dead_connection(PubSubTransport transport)
    {
        // The server's clock stands still, so it sends no heartbeat; the client's runs ahead.
        await using var node = await TestNode.StartAsync(host: h => h.Services.AddSingleton<TimeProvider>(new ManualTimeProvider()));
        var clientTime = new ManualTimeProvider();
        await using var client = ClientHarness.Create(node.PubSubUri(), transport, o =>
        {
            o.TimeProvider = clientTime;
            o.ReconnectPolicy = new ImmediateReconnect();
        });
        var events = new ClientEvents(client);
        await client.ConnectAsync().WithTimeout("connect");
        var session = client.SessionId!;

        clientTime.Advance(TimeSpan.FromSeconds(34));
        await client.PingAsync();
        Assert.Equal(PubSubClientState.Connected, client.State);
        // A frame came (the ping's reply), so the silence starts over: 34 more seconds are fine too.
        clientTime.Advance(TimeSpan.FromSeconds(34));
        Assert.Equal(session, client.SessionId);
        clientTime.Advance(TimeSpan.FromSeconds(2));
        var lost = await events.NextAsync(PubSubClientState.Reconnecting);
        await events.NextAsync(PubSubClientState.Connected);

        var error = Assert.IsType<PubSubException>(lost.Error);
        Assert.Equal(PubSubErrorCodes.Timeout, error.Code);
        Assert.Contains("heartbeat every 25 s", error.Message, StringComparison.Ordinal);
        Assert.NotEqual(session, client.SessionId);
    }

    private sealed class ImmediateReconnect : IReconnectPolicy
    {
        public TimeSpan? NextDelay(ReconnectContext context) => TimeSpan.Zero;
    }
}
