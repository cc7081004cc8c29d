using System.Net.WebSockets;
using Microsoft.Extensions.DependencyInjection;

namespace PubSub.Server.Tests.Sessions;

/// <summary>
/// The server pings WebSocket sessions and closes those that stay silent. The clock is manual, so
/// 25 seconds pass in a call, and nothing sleeps.
/// </summary>
public sealed class HeartbeatTests : IAsyncLifetime
{
    private readonly ManualTimeProvider _time = new();
    private TestNode _node = null!;

    public async Task InitializeAsync() =>
        _node = await TestNode.StartAsync(host: h => h.Services.AddSingleton<TimeProvider>(_time));

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task The_server_pings_after_the_interval_and_closes_a_session_that_stays_silent()
    {
        await using var client = await _node.ConnectAsync(answerPings: false);

        _time.Advance(TimeSpan.FromSeconds(24));
        await client.PingAsync();
        _time.Advance(TimeSpan.FromSeconds(1));
        var ping = await client.NextAsync();
        _time.Advance(TimeSpan.FromSeconds(10));
        var disconnect = await client.NextAsync();
        await client.Closed.WithTimeout("the server to close the socket");

        Assert.Equal("ping", ping.GetProperty("type").GetString());
        Assert.Equal("disconnect", disconnect.GetProperty("type").GetString());
        Assert.Equal(4002, disconnect.GetProperty("code").GetInt32());
        Assert.True(disconnect.GetProperty("reconnect").GetBoolean());
        Assert.Equal((WebSocketCloseStatus)4002, client.CloseStatus);
        await Timeouts.Until(() => _node.SessionCount == 0, "the session is released");
    }

    [Fact]
    public async Task A_session_that_answers_pings_stays_open()
    {
        await using var client = await _node.ConnectAsync(answerPings: true);

        // Pings fall due every 25 s; each round ends 10 s after one, so the next is 15 s away.
        for (var round = 0; round < 3; round++)
        {
            _time.Advance(TimeSpan.FromSeconds(round == 0 ? 25 : 15));
            Assert.Equal("ping", (await client.NextAsync()).GetProperty("type").GetString());
            // The client answered before the ping reached the test; this round trip makes sure the
            // server has handled the answer before the clock moves past the pong timeout.
            await client.PingAsync();
            _time.Advance(TimeSpan.FromSeconds(10));
        }

        await client.PingAsync();
        Assert.Equal(1, _node.SessionCount);
    }

    [Fact]
    public async Task Any_frame_from_the_client_counts_as_an_answer()
    {
        await using var client = await _node.ConnectAsync(answerPings: false);

        _time.Advance(TimeSpan.FromSeconds(25));
        Assert.Equal("ping", (await client.NextAsync()).GetProperty("type").GetString());
        await client.SubscribeAsync("chat/alive");
        _time.Advance(TimeSpan.FromSeconds(15));
        _time.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal("ping", (await client.NextAsync()).GetProperty("type").GetString());
    }
}
