using System.Net;
using System.Net.WebSockets;
using Microsoft.Extensions.DependencyInjection;

namespace PubSub.Server.Tests.Sessions;

/// <summary>A client ends its session with a <c>close</c> frame, on any transport, and its subscriptions go at once.</summary>
public sealed class ClientCloseTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync() => _node = await TestNode.StartAsync();

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private bool NodeHoldsChannel(string channel) =>
        _node.Services.GetRequiredService<PubSub.Channels.ChannelHub>().HasLocalChannel(channel);

    [Fact]
    public async Task A_long_polling_session_ends_at_once_instead_of_lingering_for_the_grace_period()
    {
        using var poll = await PollClient.OpenAsync(_node.BaseUri, "?channel=chat/bye");
        await poll.NextOfTypeAsync("subscribed");

        var status = await poll.SendAsync(new { type = "close" });
        var (pollStatus, _) = await poll.RawPollAsync(poll.Received);

        Assert.Equal(HttpStatusCode.NoContent, status);
        Assert.False(_node.HasSession(poll.SessionId));
        Assert.Equal(HttpStatusCode.NotFound, pollStatus);
    }

    [Fact]
    public async Task An_sse_session_ends_its_stream()
    {
        await using var sse = await SseClient.ConnectAsync(_node.BaseUri);

        await sse.SendAsync(new { type = "close" });
        await sse.Ended.WithTimeout("the stream to end");

        Assert.False(_node.HasSession(sse.SessionId));
    }

    [Fact]
    public async Task A_websocket_session_is_closed_normally()
    {
        await using var ws = await _node.ConnectAsync();
        await ws.SubscribeAsync("chat/ws-bye");

        await ws.SendAsync(new { type = "close" });
        await ws.Closed.WithTimeout("the server to close the socket");

        Assert.Equal(WebSocketCloseStatus.NormalClosure, ws.CloseStatus);
        await Timeouts.Until(() => _node.SessionCount == 0, "the session is gone");
    }

    [Fact]
    public async Task Frames_after_close_in_the_same_batch_are_ignored()
    {
        using var poll = await PollClient.OpenAsync(_node.BaseUri);

        await poll.SendAsync(new { type = "close" }, new { type = "subscribe", id = 1, channel = "chat/after-close" });

        Assert.False(NodeHoldsChannel("chat/after-close"));
        Assert.False(_node.HasSession(poll.SessionId));
    }
}
