using System.Net.WebSockets;

namespace PubSub.Server.Tests.Sessions;

/// <summary>A node that shuts down tells its clients to reconnect, on every transport, and does not wait for them.</summary>
public sealed class ShutdownTests
{
    [Fact]
    public async Task Stopping_a_node_sends_every_client_a_reconnect_allowed_disconnect()
    {
        var node = await TestNode.StartAsync();
        await using var ws = await node.ConnectAsync();
        await using var sse = await SseClient.ConnectAsync(node.BaseUri);
        using var poll = await PollClient.OpenAsync(node.BaseUri);
        var held = poll.NextAsync();
        await Timeouts.Until(() => node.IsPollHeld(poll.SessionId), "the poll to be held");

        var stopping = node.DisposeAsync().AsTask();
        var wsFrame = await ws.NextAsync();
        var sseFrame = (await sse.NextAsync()).Frame;
        var pollFrame = await held;
        await stopping.WithTimeout("the node to stop", TimeSpan.FromSeconds(10));
        await ws.Closed.WithTimeout("the WebSocket to close");

        foreach (var frame in new[] { wsFrame, sseFrame, pollFrame })
        {
            Assert.Equal("disconnect", frame.GetProperty("type").GetString());
            Assert.Equal(4000, frame.GetProperty("code").GetInt32());
            Assert.True(frame.GetProperty("reconnect").GetBoolean());
        }
        Assert.Equal((WebSocketCloseStatus)4000, ws.CloseStatus);
    }

    [Fact]
    public async Task Sessions_that_open_after_the_node_told_its_clients_to_go_are_told_too_after_connected()
    {
        await using var node = await TestNode.StartAsync();
        // What stopping does first; a handshake admitted just before it opens its session after.
        node.CloseAllSessions();

        await using var ws = await node.ConnectAsync();
        await using var sse = await SseClient.ConnectAsync(node.BaseUri);
        var wsFrame = await ws.NextOfTypeAsync("disconnect");
        var sseFrame = (await sse.NextAsync()).Frame;

        foreach (var frame in new[] { wsFrame, sseFrame })
        {
            Assert.Equal("disconnect", frame.GetProperty("type").GetString());
            Assert.Equal(4000, frame.GetProperty("code").GetInt32());
        }
        await ws.Closed.WithTimeout("the late WebSocket to close");
        Assert.Equal((WebSocketCloseStatus)4000, ws.CloseStatus);
        await Timeouts.Until(() => node.SessionCount == 0, "both late sessions to be gone");
    }
}
