using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

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
        using var slowConsumers = node.CollectMetric<long>("pubsub.session.slow_consumer");
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
        Assert.Equal(1, slowConsumers.Sum(("pubsub.transport", "websocket")));
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

    [Fact]
    public async Task A_client_that_takes_nothing_is_cut_after_the_write_timeout_however_little_it_holds()
    {
        var time = new ManualTimeProvider();
        await using var node = await TestNode.StartAsync(host: h =>
        {
            h.Services.AddSingleton<TimeProvider>(time);
            TestNode.SmallSendBuffers(h);
        });
        await using var reader = await node.ConnectAsync();
        await reader.SubscribeAsync("chat/stall");
        await using var stalled = await StalledWebSocket.ConnectAsync(node.BaseUri);
        await stalled.SendAsync("""{"type":"subscribe","id":1,"channel":"chat/stall"}""");
        _ = await stalled.ReadMessageAsync();

        // Small publications, far below the 1 MiB limit, until the server's write to the stalled
        // client backs up with more waiting behind it (the sockets hold some 100 KB).
        var payload = new string('x', 4000);
        var published = 0;
        while (published < 200 && !(node.IsWaitingOnClient(stalled.SessionId) && node.HeldBytes(stalled.SessionId) > 64 * 1024))
        {
            await node.Publisher.PublishAsync("chat/stall", new { n = ++published, payload });
            await reader.MessagesAsync(1);
        }
        Assert.True(node.IsWaitingOnClient(stalled.SessionId), $"the write to the stalled client never backed up ({published} publications)");
        Assert.True(node.HeldBytes(stalled.SessionId) < PubSubOptions.DefaultOutboundBufferLimit);

        time.Advance(PubSubOptions.DefaultWriteTimeout);

        await Timeouts.Until(() => !node.HasSession(stalled.SessionId), $"the stalled session to be cut (waiting {node.IsWaitingOnClient(stalled.SessionId)}, held {node.HeldBytes(stalled.SessionId)}, published {published})");
        await node.Publisher.PublishAsync("chat/stall", new { n = ++published });
        Assert.Equal(published, (await reader.MessagesAsync(1))[0].GetProperty("offset").GetInt64());
    }

    [Fact]
    public async Task Hundreds_of_clients_that_stop_reading_are_cut_and_every_healthy_subscriber_keeps_every_publication()
    {
        const int SlowReaders = 200;
        await using var node = await TestNode.StartAsync(o =>
        {
            o.MaxMessageSize = 16 * 1024;
            o.OutboundBufferLimit = 64 * 1024;
            // No ping comes between the messages the healthy subscribers read, however long a loaded machine takes.
            o.PingInterval = TimeSpan.FromHours(1);
            o.Channel("bulk/{x}", c => c.History(1000, TimeSpan.FromMinutes(5)));
        }, host: TestNode.SmallSendBuffers);
        var healthy = new List<WsClient>();
        var slow = new List<StalledWebSocket>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                var client = await node.ConnectAsync();
                healthy.Add(client);
                await client.SubscribeAsync("bulk/swarm");
            }
            for (var i = 0; i < SlowReaders; i++)
            {
                var client = await StalledWebSocket.ConnectAsync(node.BaseUri);
                slow.Add(client);
                await client.SendAsync("""{"type":"subscribe","id":1,"channel":"bulk/swarm"}""");
                // The reply says the subscription is live; after it, the client reads nothing.
                Assert.Contains("\"id\":1", await client.ReadMessageAsync(), StringComparison.Ordinal);
            }

            // Bursts of 7 publications of 4 KB, each received by every healthy subscriber before the
            // next: they keep up, the stalled ones fall behind. Two bursts fit under the limit (57 KB),
            // not just one: the node counts a write until it completes, and on a busy machine that
            // can be after the client has read it all (Kestrel's output pipe learns late that the
            // socket took it, and holds the next write back meanwhile). With bursts of 48 KB, a
            // healthy subscriber holding its last write and 12 KB of the next was cut (4001), in 2
            // runs of 30.
            const int Burst = 7;
            var payload = new string('x', 4000);
            var received = healthy.Select(_ => new List<JsonElement>()).ToList();
            var published = 0;
            for (var burst = 0; burst < 40; burst++)
            {
                for (var i = 0; i < Burst; i++)
                {
                    await node.Publisher.PublishAsync("bulk/swarm", new { n = ++published, payload });
                }
                for (var h = 0; h < healthy.Count; h++)
                {
                    received[h].AddRange(await healthy[h].MessagesAsync(Burst));
                }
            }

            await Timeouts.Until(() => node.SessionCount == healthy.Count, "every stalled session to be cut");
            foreach (var messages in received)
            {
                Assert.Equal(Enumerable.Range(1, published).Select(i => (long)i), messages.Select(m => m.GetProperty("offset").GetInt64()));
            }
            foreach (var client in healthy)
            {
                await client.PingAsync();
            }
        }
        finally
        {
            foreach (var client in healthy)
            {
                await client.DisposeAsync();
            }
            foreach (var client in slow)
            {
                await client.DisposeAsync();
            }
        }
    }
}
