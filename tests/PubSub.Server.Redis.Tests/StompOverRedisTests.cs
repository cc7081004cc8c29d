using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace PubSub.Server.Redis.Tests;

/// <summary>
/// STOMP sessions on two nodes sharing a real Redis (docs/protocol.md, section 7): STOMP and
/// PubSub-protocol subscribers of one channel, on both nodes, see the same publications in the
/// same order whoever published them; a STOMP client that comes back to the other node recovers
/// with <c>x-since</c>; and the control plane, asked on one node, reaches STOMP sessions on the other.
/// </summary>
public sealed class StompOverRedisTests(RedisFixture redis) : IClassFixture<RedisFixture>, IAsyncLifetime
{
    private const int PerPublisher = 10;

    private TestNode _a = null!;
    private TestNode _b = null!;

    public async Task InitializeAsync()
    {
        _a = await TestNode.StartAsync(services: b => b.AddRedisBroker(redis.Server.Configuration));
        _b = await TestNode.StartAsync(services: b => b.AddRedisBroker(redis.Server.Configuration));
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
    }

    private static string Channel(string name) => $"chat/redis-stomp-{name}-{Guid.NewGuid():N}";

    private static async Task<StompClient> SubscribedAsync(TestNode node, string channel, string id = "s") =>
        (await SubscribedWithSessionAsync(node, channel, id)).Client;

    private static async Task<(StompClient Client, string Session)> SubscribedWithSessionAsync(TestNode node, string channel, string id)
    {
        var (client, connected) = await StompClient.ConnectAsync(node.WebSocketUri);
        await client.SendAsync($"SUBSCRIBE\ndestination:{channel}\nid:{id}\nreceipt:r\n\n\0");
        await client.ExpectAsync("RECEIPT");
        return (client, connected["session"]!);
    }

    [Fact]
    public async Task Stomp_and_pubsub_subscribers_on_both_nodes_see_the_same_publications_in_the_same_order()
    {
        var channel = Channel("mixed");
        await using var stompA = await SubscribedAsync(_a, channel);
        await using var stompB = await SubscribedAsync(_b, channel);
        await using var jsonA = await _a.ConnectAsync();
        await using var msgpackB = await WsClient.ConnectAsync(_b.WebSocketUri, MessagePackFrames.Subprotocol);
        await jsonA.SubscribeAsync(channel);
        await msgpackB.SubscribeAsync(channel);
        await using var sender = (await StompClient.ConnectAsync(_a.WebSocketUri)).Client;
        await using var jsonSender = await _b.ConnectAsync();

        // Three publishers at once, on both nodes: STOMP SEND, the PubSub publish frame, server code.
        await Task.WhenAll(
            Task.Run(async () =>
            {
                for (var i = 0; i < PerPublisher; i++)
                {
                    await sender.SendAsync($"SEND\ndestination:{channel}\ncontent-type:application/json\n\n{{\"from\":\"stomp\",\"i\":{i}}}\0");
                }
            }),
            Task.Run(async () =>
            {
                for (var i = 0; i < PerPublisher; i++)
                {
                    await jsonSender.SendAsync(new { type = "publish", channel, data = new { from = "json", i } });
                }
            }),
            Task.Run(async () =>
            {
                for (var i = 0; i < PerPublisher; i++)
                {
                    await _b.Publisher.PublishAsync(channel, Payload.FromValue(new { from = "server", i }));
                }
            }));

        var total = 3 * PerPublisher;
        var seen = new List<List<(long Offset, string Data)>>();
        foreach (var stomp in new[] { stompA, stompB })
        {
            var messages = new List<(long, string)>();
            for (var n = 0; n < total; n++)
            {
                var message = await stomp.ExpectAsync("MESSAGE");
                messages.Add((long.Parse(message["x-offset"]!, System.Globalization.CultureInfo.InvariantCulture), message.BodyText));
            }
            seen.Add(messages);
        }
        foreach (var client in new[] { jsonA, msgpackB })
        {
            var messages = await client.MessagesAsync(total);
            seen.Add([.. messages.Select(m => (m.GetProperty("offset").GetInt64(), m.GetProperty("data").GetRawText()))]);
        }

        Assert.Equal(Enumerable.Range(1, total).Select(i => (long)i), seen[0].Select(m => m.Offset));
        Assert.All(seen, received => Assert.Equal(seen[0], received));
        Assert.Equal(PerPublisher, seen[0].Count(m => JsonDocument.Parse(m.Data).RootElement.GetProperty("from").GetString() == "stomp"));
    }

    [Fact]
    public async Task A_stomp_client_that_comes_back_to_the_other_node_recovers_with_x_since()
    {
        var channel = Channel("resume");
        string since;
        await using (var first = await SubscribedAsync(_a, channel))
        {
            await _a.Publisher.PublishAsync(channel, Payload.FromJson("1"u8));
            var last = await first.ExpectAsync("MESSAGE");
            since = last["message-id"]!;
        }
        await _a.Publisher.PublishAsync(channel, Payload.FromJson("2"u8));
        await _b.Publisher.PublishAsync(channel, Payload.FromJson("3"u8));

        var (again, _) = await StompClient.ConnectAsync(_b.WebSocketUri);
        await using var _again = again;
        await again.SendAsync($"SUBSCRIBE\ndestination:{channel}\nid:back\nreceipt:r\nx-since:{since}\n\n\0");
        var receipt = await again.ExpectAsync("RECEIPT");
        var missed = new[] { await again.ExpectAsync("MESSAGE"), await again.ExpectAsync("MESSAGE") };

        Assert.Equal("true", receipt["x-recovered"]);
        Assert.Equal(["2", "3"], missed.Select(m => m.BodyText));
        Assert.All(missed, m => Assert.Equal("back", m["subscription"]));
    }

    [Fact]
    public async Task The_control_plane_asked_on_one_node_reaches_stomp_sessions_on_the_other()
    {
        var channel = Channel("control");
        var control = _a.Services.GetRequiredService<IPubSubControl>();
        var (kicked, kickedConnected) = await StompClient.ConnectAsync(_b.WebSocketUri);
        await using var _kicked = kicked;
        var (dropped, droppedSession) = await SubscribedWithSessionAsync(_b, channel, "mine");
        await using var _dropped = dropped;

        var unsubscribed = await control.UnsubscribeAsync(SessionTarget.Session(droppedSession), channel, "revoked", "Access was revoked.");
        var disconnected = await control.DisconnectAsync(SessionTarget.Session(kickedConnected["session"]!), reason: "banned");
        var drop = await dropped.ExpectAsync("ERROR");
        var kick = await kicked.ExpectAsync("ERROR");

        Assert.Equal(1, unsubscribed.Sessions);
        Assert.Equal(1, disconnected.Sessions);
        Assert.Equal("mine", drop["subscription"]);
        Assert.Equal("revoked", drop["x-code"]);
        Assert.Equal("4500", kick["x-disconnect-code"]);
        await dropped.Closed.WithTimeout("the unsubscribed session to close");
        await kicked.Closed.WithTimeout("the disconnected session to close");
    }
}
