using System.Net.WebSockets;

namespace PubSub.Server.Tests.Sessions;

public sealed class SlowConsumerTests
{
    [Fact]
    public async Task A_subscriber_that_stops_reading_is_disconnected_without_slowing_the_others_and_recovers_on_return()
    {
        await using var node = await TestNode.StartAsync(o =>
        {
            o.MaxMessageSize = 16 * 1024;
            o.OutboundBufferLimit = 64 * 1024;
            o.Channel("bulk/{x}", c => c.History(10_000, TimeSpan.FromMinutes(5)));
        });
        await using var fast = await node.ConnectAsync();
        var slow = await node.ConnectAsync();
        var subscribed = await fast.SubscribeAsync("bulk/a");
        await slow.SubscribeAsync("bulk/a");
        var epoch = subscribed.GetProperty("epoch").GetString()!;

        slow.PauseReading();
        var payload = new string('x', 8000);
        var published = 0;
        var fastMessages = new List<System.Text.Json.JsonElement>();
        // Loopback socket buffers hold a few megabytes; 4,000 publications of 8 KB are far more,
        // and the loop stops as soon as the server gives up on the slow session. The publisher
        // goes in windows of 4 (32 KB, under the limit) that the fast client must have received
        // before the next: it keeps up, while the slow one falls further behind with every window.
        while (published < 4000 && node.HasSession(slow.SessionId))
        {
            for (var i = 0; i < 4; i++)
            {
                await node.Publisher.PublishAsync("bulk/a", new { i = ++published, payload });
            }
            fastMessages.AddRange(await fast.MessagesAsync(4));
        }
        Assert.False(node.HasSession(slow.SessionId), $"the slow session was still open after {published} publications");
        slow.ResumeReading();

        // The slow client sees an unbroken prefix of the stream, then why it was dropped.
        long lastSeen = 0;
        while (true)
        {
            var frame = await slow.NextAsync();
            if (frame.GetProperty("type").GetString() != "message")
            {
                Assert.Equal("disconnect", frame.GetProperty("type").GetString());
                Assert.Equal(4001, frame.GetProperty("code").GetInt32());
                Assert.True(frame.GetProperty("reconnect").GetBoolean());
                break;
            }
            Assert.Equal(lastSeen + 1, frame.GetProperty("offset").GetInt64());
            lastSeen++;
        }
        await slow.Closed.WithTimeout("the slow client's socket to close");
        Assert.Equal((WebSocketCloseStatus)4001, slow.CloseStatus);
        await slow.DisposeAsync();

        // The fast subscriber got everything, in order.
        Assert.Equal(Enumerable.Range(1, published).Select(i => (long)i), fastMessages.Select(m => m.GetProperty("offset").GetInt64()));

        // Back again, the slow client recovers the rest from history.
        await using var back = await node.ConnectAsync();
        var result = await back.SubscribeAsync("bulk/a", epoch, lastSeen);
        var recovered = await back.MessagesAsync(published - (int)lastSeen);
        Assert.True(result.GetProperty("recovered").GetBoolean());
        Assert.Equal(Enumerable.Range((int)lastSeen + 1, published - (int)lastSeen).Select(i => (long)i), recovered.Select(m => m.GetProperty("offset").GetInt64()));
    }
}
