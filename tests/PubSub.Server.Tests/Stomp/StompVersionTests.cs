using Microsoft.Extensions.DependencyInjection;

namespace PubSub.Server.Tests.Stomp;

/// <summary>
/// STOMP 1.0 and 1.1 clients on a real node (docs/protocol.md, sections 7.1 and 7.2), and the
/// connect hook's channels, which a STOMP session gets only after CONNECTED.
/// </summary>
public sealed class StompVersionTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync() => _node = await TestNode.StartAsync(options =>
    {
        options.Channel("colon/{x}", c => c.History(10, TimeSpan.FromMinutes(5)).AllowClientPublish());
        options.Channel("welcome/{x}", c => c.History(10, TimeSpan.FromMinutes(5)));
        options.OnConnect = context =>
        {
            if (context.HttpContext.Request.Query.ContainsKey("welcome"))
            {
                context.Subscribe("welcome/all");
            }
            return ValueTask.CompletedTask;
        };
    });

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task A_1_0_client_subscribes_without_an_id_and_reads_headers_unescaped()
    {
        await using var client = await StompClient.OpenAsync(_node.WebSocketUri, "v10.stomp");
        // No accept-version: a 1.0 client.
        await client.SendAsync("CONNECT\nlogin:guest\npasscode:guest\n\n\0");
        var connected = await client.ExpectAsync("CONNECTED");
        await client.SendAsync("SUBSCRIBE\ndestination:colon/a:b\nreceipt:r\n\n\0");
        await client.ExpectAsync("RECEIPT");
        await client.SendAsync("SEND\ndestination:colon/a:b\ncontent-type:application/json\n\n[1]\0");
        var message = await client.NextAsync();
        await client.SendAsync($"ACK\nmessage-id:{message.Headers["message-id"]}\nreceipt:a\n\n\0UNSUBSCRIBE\ndestination:colon/a:b\nreceipt:u\n\n\0");
        var acked = await client.ExpectAsync("RECEIPT");
        var unsubscribed = await client.ExpectAsync("RECEIPT");

        Assert.Equal("1.0", connected["version"]);
        Assert.Equal("MESSAGE", message.Command);
        // That 1.0 escapes nothing (a raw ':' in these values) is checked byte for byte by the vectors (message_binary_v10).
        Assert.Equal("colon/a:b", message["destination"]);
        Assert.Equal("colon/a:b", message["subscription"]);
        Assert.Equal("[1]", message.BodyText);
        Assert.Equal(["a", "u"], new[] { acked, unsubscribed }.Select(r => r["receipt-id"]));
    }

    [Fact]
    public async Task A_1_1_client_acknowledges_by_message_id()
    {
        await using var client = await StompClient.OpenAsync(_node.WebSocketUri, "v11.stomp");
        await client.SendAsync("CONNECT\naccept-version:1.0,1.1\n\n\0");
        var connected = await client.ExpectAsync("CONNECTED");
        await client.SendAsync("SUBSCRIBE\ndestination:chat/v11\nid:x\nack:client\nreceipt:r\n\n\0");
        await client.ExpectAsync("RECEIPT");
        await _node.Publisher.PublishAsync("chat/v11", Payload.FromJson("1"u8));
        var message = await client.ExpectAsync("MESSAGE");
        await client.SendAsync($"ACK\nsubscription:x\nmessage-id:{message["message-id"]}\nreceipt:a\n\n\0");

        Assert.Equal("1.1", connected["version"]);
        Assert.Equal("a", (await client.ExpectAsync("RECEIPT"))["receipt-id"]);
    }

    [Fact]
    public async Task The_connect_hooks_channels_start_after_connected_and_name_the_channel_as_subscription()
    {
        await _node.Publisher.PublishAsync("welcome/all", Payload.FromJson("\"before\""u8));
        await using var client = await StompClient.OpenAsync(new Uri(_node.WebSocketUri + "?welcome=1"));
        var control = _node.Services.GetRequiredService<IPubSubControl>();

        await client.SendAsync("CONNECT\naccept-version:1.2\n\n\0");
        // Nothing may come before CONNECTED: ExpectAsync fails on any other first frame.
        await client.ExpectAsync("CONNECTED");
        await Timeouts.Until(async () => (await control.ChannelsAsync("welcome/*")).Channels.Count == 1, "the hook's subscription is made");
        await _node.Publisher.PublishAsync("welcome/all", Payload.FromJson("\"after\""u8));
        var message = await client.ExpectAsync("MESSAGE");

        Assert.Equal("welcome/all", message["subscription"]);
        Assert.Equal("\"after\"", message.BodyText);
        Assert.False(client.Closed.IsCompleted);
    }
}
