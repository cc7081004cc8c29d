using Microsoft.Extensions.DependencyInjection;

namespace PubSub.Server.Tests.Transports;

/// <summary>
/// <see cref="PubSubOptions.WriteDelay"/>: what reaches a WebSocket session within the window
/// travels as one message when the window ends, in order; without a window nothing waits.
/// </summary>
public sealed class WriteDelayTests
{
    private static readonly TimeSpan Window = TimeSpan.FromMilliseconds(20);

    private static Task<TestNode> StartAsync(TimeSpan writeDelay, TimeProvider time, Action<PubSubOptions>? configure = null) =>
        TestNode.StartAsync(
            o =>
            {
                o.WriteDelay = writeDelay;
                o.Channel("news/{x}");
                configure?.Invoke(o);
            },
            host: h => h.Services.AddSingleton(time));

    [Fact]
    public async Task Frames_published_within_the_window_arrive_together_in_one_message_when_it_ends_and_in_order()
    {
        var time = new ManualTimeProvider();
        await using var node = await StartAsync(Window, time);
        await using var client = await node.ConnectAsync();
        // The reply waits for the window too (the connected frame went first, as the writer started).
        var subscribing = client.SubscribeAsync("news/a");
        await Timeouts.Until(() => time.HasTimer(Window), "the writer to wait for the window");
        time.Advance(Window);
        await subscribing.WithTimeout("the subscription");
        var before = client.MessagesReceived;
        var payload = new string('x', 1000);

        for (var i = 1; i <= 5; i++)
        {
            await node.Publisher.PublishAsync("news/a", new { i, payload });
        }
        // The writer waits for the window's tick, and the five frames gather behind it.
        await Timeouts.Until(() => time.HasTimer(Window), "the writer to wait for the window");
        await Timeouts.Until(() => node.HeldBytes(client.SessionId) > 5 * payload.Length, "all five frames to wait in the queue");
        Assert.Equal(before, client.MessagesReceived);

        time.Advance(Window);
        var messages = await client.MessagesAsync(5);

        Assert.Equal([1, 2, 3, 4, 5], messages.Select(m => m.GetProperty("data").GetProperty("i").GetInt32()));
        Assert.Equal(before + 1, client.MessagesReceived);
    }

    [Fact]
    public async Task Without_a_window_frames_that_arrive_apart_travel_in_a_message_each_and_no_timer_is_set()
    {
        var time = new ManualTimeProvider();
        await using var node = await StartAsync(TimeSpan.Zero, time);
        await using var client = await node.ConnectAsync();
        await client.SubscribeAsync("news/a");
        var before = client.MessagesReceived;

        for (var i = 1; i <= 3; i++)
        {
            await node.Publisher.PublishAsync("news/a", new { i });
            // The clock stands still: the frame went at once.
            var message = await client.NextOfTypeAsync("message");
            Assert.Equal(i, message.GetProperty("data").GetProperty("i").GetInt32());
            Assert.Equal(before + i, client.MessagesReceived);
        }
        Assert.False(time.HasTimer(TimeSpan.Zero));
    }

    [Fact]
    public async Task A_subscriber_that_stops_reading_is_still_disconnected_as_a_slow_consumer_with_the_window_on()
    {
        // Real time: the window's ticks keep coming while the queue fills behind the stalled write.
        await using var node = await StartAsync(Window, TimeProvider.System, o =>
        {
            o.MaxMessageSize = 16 * 1024;
            o.OutboundBufferLimit = 64 * 1024;
        });
        await using var reader = await node.ConnectAsync();
        await reader.SubscribeAsync("news/stall");
        var slow = await node.ConnectAsync();
        await slow.SubscribeAsync("news/stall");
        slow.PauseReading();

        // Bounded: the loopback buffers hold a few megabytes, and the loop ends with the session.
        var payload = new string('x', 8000);
        var published = 0;
        while (published < 4000 && node.HasSession(slow.SessionId))
        {
            await node.Publisher.PublishAsync("news/stall", new { n = ++published, payload });
            await reader.MessagesAsync(1);
        }

        Assert.False(node.HasSession(slow.SessionId), $"the slow session was still open after {published} publications");
        slow.ResumeReading();
        await slow.Closed.WithTimeout("the slow client's socket to close");
        Assert.Equal((System.Net.WebSockets.WebSocketCloseStatus)4001, slow.CloseStatus);
        await slow.DisposeAsync();
    }
}
