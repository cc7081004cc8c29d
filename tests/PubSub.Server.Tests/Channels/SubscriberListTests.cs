namespace PubSub.Server.Tests.Channels;

/// <summary>
/// A channel's subscriber list grows into spare room and shrinks by copying (ChannelHub's
/// LocalChannel): whatever order subscribes and unsubscribes come in, each publication reaches
/// exactly the sessions subscribed when it was published, once each, in order.
/// </summary>
public sealed class SubscriberListTests
{
    [Fact]
    public async Task Subscribers_added_past_several_growths_and_removed_between_them_each_get_exactly_their_publications()
    {
        await using var node = await TestNode.StartAsync();
        var clients = new List<WsClient>();
        try
        {
            // 4 → 8 → 16 → 32 slots: the list grows three times while these subscribe.
            for (var i = 0; i < 21; i++)
            {
                var client = await node.ConnectAsync();
                clients.Add(client);
                await client.SubscribeAsync("chat/list");
                await client.SubscribeAsync("chat/sentinel");
            }
            var left = new[] { 0, 3, 7, 20 }.Select(i => clients[i]).ToList();
            foreach (var client in left)
            {
                await client.RequestAsync(new() { ["type"] = "unsubscribe", ["channel"] = "chat/list" });
            }
            // Added after removals: into the copied list's room, not the old array's.
            for (var i = 0; i < 3; i++)
            {
                var client = await node.ConnectAsync();
                clients.Add(client);
                await client.SubscribeAsync("chat/list");
                await client.SubscribeAsync("chat/sentinel");
            }

            await node.Publisher.PublishAsync("chat/list", new { n = 1 });
            await node.Publisher.PublishAsync("chat/list", new { n = 2 });
            await node.Publisher.PublishAsync("chat/sentinel", new { n = 3 });

            foreach (var client in clients)
            {
                var expected = left.Contains(client) ? new[] { ("chat/sentinel", 3) } : [("chat/list", 1), ("chat/list", 2), ("chat/sentinel", 3)];
                foreach (var (channel, n) in expected)
                {
                    var message = await client.NextOfTypeAsync("message");
                    Assert.Equal(channel, message.GetProperty("channel").GetString());
                    Assert.Equal(n, message.GetProperty("data").GetProperty("n").GetInt32());
                }
            }
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }
}
