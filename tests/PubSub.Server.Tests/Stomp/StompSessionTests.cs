using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace PubSub.Server.Tests.Stomp;

/// <summary>
/// STOMP on the WebSocket endpoint of a real node, over a real <see cref="ClientWebSocket"/>
/// (docs/protocol.md, section 7): CONNECT, SUBSCRIBE and MESSAGE, SEND through the rules of a
/// client publish, receipts, recovery with <c>x-since</c>, UNSUBSCRIBE, DISCONNECT, and the
/// server's control plane reaching a STOMP session. STOMP and PubSub-protocol clients share the channels.
/// </summary>
public sealed class StompSessionTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync() => _node = await TestNode.StartAsync(options =>
    {
        options.Channel("moderated/{x}", c => c.History(10, TimeSpan.FromMinutes(5)).AllowClientPublish()
            .OnPublish(context => { if (context.Data.ToString().Contains("spam", StringComparison.Ordinal)) { context.Reject("No spam."); } }));
    });

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private Task<(StompClient Client, StompTestFrame Connected)> ConnectAsync(string heartBeat = "0,0") =>
        StompClient.ConnectAsync(_node.WebSocketUri, heartBeat);

    private static async Task<StompTestFrame> SubscribeAsync(StompClient client, string channel, string id, string extra = "")
    {
        await client.SendAsync($"SUBSCRIBE\ndestination:{channel}\nid:{id}\nreceipt:sub-{id}\n{extra}\n\0");
        var receipt = await client.ExpectAsync("RECEIPT");
        Assert.Equal($"sub-{id}", receipt["receipt-id"]);
        return receipt;
    }

    [Fact]
    public async Task Connect_negotiates_the_highest_common_version_and_the_heart_beats()
    {
        await using var client = await StompClient.OpenAsync(_node.WebSocketUri, "v11.stomp");
        await client.SendAsync("STOMP\naccept-version:1.0,1.1,1.2\nhost:anything\nlogin:ignored\nheart-beat:10000,30000\n\n\0");
        var connected = await client.ExpectAsync("CONNECTED");

        Assert.Equal("v11.stomp", client.SubProtocol);
        Assert.Equal("1.2", connected["version"]);
        Assert.Equal("25000,25000", connected["heart-beat"]);
        Assert.StartsWith(_node.NodeId + ".", connected["session"]);
        Assert.StartsWith("PubSub/", connected["server"]);
        Assert.True(_node.HasSession(connected["session"]!));
    }

    [Fact]
    public async Task A_version_the_server_does_not_speak_is_an_error_that_lists_the_supported_ones()
    {
        await using var client = await StompClient.OpenAsync(_node.WebSocketUri);
        await client.SendAsync("CONNECT\naccept-version:2.0\n\n\0");
        var error = await client.ExpectAsync("ERROR");
        await client.Closed.WithTimeout("the server to close");

        Assert.Equal("1.0,1.1,1.2", error["version"]);
        Assert.Equal("bad_request", error["x-code"]);
    }

    [Fact]
    public async Task A_subscriber_gets_messages_with_their_destination_subscription_position_and_type()
    {
        var (client, _) = await ConnectAsync();
        await using var _client = client;
        var receipt = await SubscribeAsync(client, "chat/headers", "s-1");
        var published = await _node.Publisher.PublishAsync("chat/headers", Payload.FromJson("""{"text":"hi"}"""u8));
        var binary = await _node.Publisher.PublishAsync("chat/headers", Payload.FromBinary(new byte[] { 0, 0xff, 1 }));
        var message = await client.ExpectAsync("MESSAGE");
        var bytes = await client.ExpectAsync("MESSAGE");

        Assert.Equal(published.Epoch, receipt["x-epoch"]);
        Assert.Equal("0", receipt["x-offset"]);
        Assert.Null(receipt["x-recovered"]);
        Assert.Equal("chat/headers", message["destination"]);
        Assert.Equal("s-1", message["subscription"]);
        Assert.Equal($"{published.Epoch}:1:chat/headers", message["message-id"]);
        Assert.Equal("application/json", message["content-type"]);
        Assert.Equal("13", message["content-length"]);
        Assert.Equal(published.Epoch, message["x-epoch"]);
        Assert.Equal("1", message["x-offset"]);
        Assert.Equal("""{"text":"hi"}""", message.BodyText);
        Assert.Equal("application/octet-stream", bytes["content-type"]);
        Assert.Equal(binary.Offset.ToString(System.Globalization.CultureInfo.InvariantCulture), bytes["x-offset"]);
        Assert.Equal(new byte[] { 0, 0xff, 1 }, bytes.Body);
        // Bytes that are not UTF-8 cannot travel in a text message.
        Assert.Contains(WebSocketMessageType.Binary, client.MessageTypes);
    }

    [Fact]
    public async Task Send_publishes_to_stomp_and_pubsub_subscribers_alike_and_its_receipt_follows_the_store()
    {
        var (sender, _) = await ConnectAsync();
        await using var _sender = sender;
        var (listener, _) = await ConnectAsync();
        await using var _listener = listener;
        await using var json = await _node.ConnectAsync();
        await SubscribeAsync(listener, "chat/mixed", "l");
        await json.SubscribeAsync("chat/mixed");

        await sender.SendAsync("SEND\ndestination:chat/mixed\ncontent-type:application/json;charset=utf-8\nreceipt:p1\n\n{\"n\": 1}\0");
        var stored = await sender.ExpectAsync("RECEIPT");
        await sender.SendAsync("SEND\ndestination:chat/mixed\nreceipt:p2\ncontent-length:4\n\nab\0c\0");
        await sender.ExpectAsync("RECEIPT");
        var first = await listener.ExpectAsync("MESSAGE");
        var second = await listener.ExpectAsync("MESSAGE");
        var data = await json.NextOfTypeAsync("message");
        var binary = await json.NextOfTypeAsync("message");

        Assert.Equal("p1", stored["receipt-id"]);
        Assert.Equal("1", stored["x-offset"]);
        Assert.Equal("""{"n":1}""", first.BodyText);
        Assert.Equal("application/json", first["content-type"]);
        Assert.Equal("ab\0c", second.BodyText);
        Assert.Equal("application/octet-stream", second["content-type"]);
        Assert.Equal(1, data.GetProperty("data").GetProperty("n").GetInt32());
        Assert.Equal(Convert.ToBase64String("ab\0c"u8), binary.GetProperty("binary").GetString());
    }

    [Fact]
    public async Task Pubsub_publications_reach_stomp_subscribers_in_offset_order()
    {
        var (stomp, _) = await ConnectAsync();
        await using var _stomp = stomp;
        await using var json = await _node.ConnectAsync();
        await SubscribeAsync(stomp, "chat/order", "o");
        for (var i = 1; i <= 20; i++)
        {
            await json.SendAsync(new { type = "publish", channel = "chat/order", data = i });
        }

        for (var i = 1; i <= 20; i++)
        {
            var message = await stomp.ExpectAsync("MESSAGE");
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), message["x-offset"]);
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), message.BodyText);
        }
    }

    [Fact]
    public async Task A_reconnecting_subscriber_recovers_what_it_missed_with_x_since()
    {
        string since;
        {
            var (client, _) = await ConnectAsync();
            await using var _client = client;
            await SubscribeAsync(client, "chat/resume", "r");
            await _node.Publisher.PublishAsync("chat/resume", Payload.FromJson("1"u8));
            var last = await client.ExpectAsync("MESSAGE");
            since = $"{last["x-epoch"]}:{last["x-offset"]}";
        }
        for (var i = 2; i <= 4; i++)
        {
            await _node.Publisher.PublishAsync("chat/resume", Payload.FromJson(Encoding.UTF8.GetBytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        }

        var (again, _) = await ConnectAsync();
        await using var _again = again;
        var receipt = await SubscribeAsync(again, "chat/resume", "r", $"x-since:{since}\n");
        var replayed = new[] { await again.ExpectAsync("MESSAGE"), await again.ExpectAsync("MESSAGE"), await again.ExpectAsync("MESSAGE") };
        await _node.Publisher.PublishAsync("chat/resume", Payload.FromJson("5"u8));
        var live = await again.ExpectAsync("MESSAGE");

        Assert.Equal("true", receipt["x-recovered"]);
        Assert.Equal("4", receipt["x-offset"]);
        Assert.Equal(["2", "3", "4"], replayed.Select(m => m.BodyText));
        Assert.Equal("5", live.BodyText);

        // A message-id names the same position; an old epoch cannot be recovered and says so.
        var (other, _) = await ConnectAsync();
        await using var _other = other;
        var byId = await SubscribeAsync(other, "chat/resume", "a", $"x-since:{live["message-id"]}\n");
        var (stale, _) = await ConnectAsync();
        await using var _stale = stale;
        var lost = await SubscribeAsync(stale, "chat/resume", "b", "x-since:oldepoch:3\n");
        Assert.Equal("true", byId["x-recovered"]);
        Assert.Equal("false", lost["x-recovered"]);
        Assert.Equal(live["x-epoch"], lost["x-epoch"]);
    }

    [Fact]
    public async Task Unsubscribe_stops_the_messages_and_ack_and_nack_are_answered()
    {
        var (client, _) = await ConnectAsync();
        await using var _client = client;
        await SubscribeAsync(client, "chat/gone", "g", "ack:client-individual\n");
        await SubscribeAsync(client, "chat/stays", "s");
        await _node.Publisher.PublishAsync("chat/gone", Payload.FromJson("1"u8));
        var message = await client.ExpectAsync("MESSAGE");
        await client.SendAsync($"ACK\nid:{message["ack"]}\nreceipt:a1\n\n\0NACK\nid:{message["ack"]}\nreceipt:n1\n\n\0");
        var acked = await client.ExpectAsync("RECEIPT");
        var nacked = await client.ExpectAsync("RECEIPT");

        await client.SendAsync("UNSUBSCRIBE\nid:g\nreceipt:u1\n\n\0");
        var unsubscribed = await client.ExpectAsync("RECEIPT");
        await _node.Publisher.PublishAsync("chat/gone", Payload.FromJson("2"u8));
        await _node.Publisher.PublishAsync("chat/stays", Payload.FromJson("3"u8));
        var next = await client.ExpectAsync("MESSAGE");

        Assert.Equal(message["ack"], message["message-id"]);
        Assert.Equal(["a1", "n1", "u1"], new[] { acked, nacked, unsubscribed }.Select(r => r["receipt-id"]));
        Assert.Equal("chat/stays", next["destination"]);
        Assert.Equal("s", next["subscription"]);
    }

    [Fact]
    public async Task Disconnect_with_a_receipt_gets_it_and_the_socket_closes_normally()
    {
        var (client, connected) = await ConnectAsync();
        await using var _client = client;
        await client.SendAsync("DISCONNECT\nreceipt:bye\n\n\0");
        var receipt = await client.ExpectAsync("RECEIPT");
        await client.Closed.WithTimeout("the server to close");

        Assert.Equal("bye", receipt["receipt-id"]);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, client.CloseStatus);
        await Timeouts.Until(() => !_node.HasSession(connected["session"]!), "the session is released");
    }

    [Fact]
    public async Task The_control_plane_disconnects_and_unsubscribes_stomp_sessions()
    {
        var control = _node.Services.GetRequiredService<IPubSubControl>();
        var (kicked, kickedConnected) = await ConnectAsync();
        await using var _kicked = kicked;
        var (dropped, droppedConnected) = await ConnectAsync();
        await using var _dropped = dropped;
        await SubscribeAsync(dropped, "chat/revoked", "mine");

        var disconnected = await control.DisconnectAsync(SessionTarget.Session(kickedConnected["session"]!), reason: "banned");
        var unsubscribed = await control.UnsubscribeAsync(SessionTarget.Session(droppedConnected["session"]!), "chat/revoked", "revoked", "Access was revoked.");
        var kick = await kicked.ExpectAsync("ERROR");
        var drop = await dropped.ExpectAsync("ERROR");
        await kicked.Closed.WithTimeout("the kicked session to close");
        await dropped.Closed.WithTimeout("the unsubscribed session to close");

        Assert.Equal(1, disconnected.Sessions);
        Assert.Equal(1, unsubscribed.Sessions);
        Assert.Equal("4500", kick["x-disconnect-code"]);
        Assert.Equal("false", kick["x-reconnect"]);
        Assert.Equal("banned", kick["message"]);
        Assert.Equal((WebSocketCloseStatus)4500, kicked.CloseStatus);
        Assert.Equal("mine", drop["subscription"]);
        Assert.Equal("revoked", drop["x-code"]);
        Assert.Contains("Access was revoked.", drop["message"], StringComparison.Ordinal);
        Assert.Equal((WebSocketCloseStatus)4003, dropped.CloseStatus);
    }

    [Fact]
    public async Task Send_passes_the_publish_hook()
    {
        var (client, _) = await ConnectAsync();
        await using var _client = client;
        await client.SendAsync("SEND\ndestination:moderated/a\ncontent-type:application/json\nreceipt:ok\n\n\"fine\"\0");
        await client.ExpectAsync("RECEIPT");
        await client.SendAsync("SEND\ndestination:moderated/a\ncontent-type:application/json\nreceipt:no\n\n\"spam\"\0");
        var error = await client.ExpectAsync("ERROR");
        await client.Closed.WithTimeout("the server to close");

        Assert.Equal("forbidden", error["x-code"]);
        Assert.Equal("no", error["receipt-id"]);
        Assert.Equal("No spam.", error["message"]);
        Assert.Single((await _node.Publisher.GetHistoryAsync("moderated/a", null, 10)).Publications);
    }
}
