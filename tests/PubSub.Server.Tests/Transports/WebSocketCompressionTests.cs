using System.Net.WebSockets;
using System.Text;

namespace PubSub.Server.Tests.Transports;

/// <summary>
/// permessage-deflate (docs/protocol.md, section 3.2): negotiated only when the node enables it and
/// the client offers it; compressed and plain sessions share channels; and a compressed message
/// that inflates past the limit ends its session with 1009 instead of being inflated to its end.
/// </summary>
public sealed class WebSocketCompressionTests
{
    private const int MaxMessageSize = 64 * 1024;

    [Fact]
    public async Task A_client_that_offers_deflate_gets_it_when_the_node_enables_it()
    {
        await using var node = await TestNode.StartAsync(o => o.WebSocketCompression = true);
        await using var client = await ConnectAsync(node, offerDeflate: true);

        Assert.Contains("permessage-deflate", client.Extensions, StringComparison.Ordinal);
        Assert.Contains("server_no_context_takeover", client.Extensions, StringComparison.Ordinal);
        await client.PingAsync();
        // The platform negotiates deflate inside the request, so the session stays there.
        Assert.Equal(0, node.HandedOverSessions);
    }

    [Fact]
    public async Task A_client_that_offers_deflate_does_not_get_it_when_the_node_does_not_enable_it()
    {
        await using var node = await TestNode.StartAsync();
        await using var client = await ConnectAsync(node, offerDeflate: true);

        Assert.Equal("", client.Extensions);
        await client.PingAsync();
        Assert.Equal(1, node.HandedOverSessions);
    }

    [Fact]
    public async Task A_client_that_does_not_offer_deflate_is_served_uncompressed_when_the_node_enables_it()
    {
        await using var node = await TestNode.StartAsync(o => o.WebSocketCompression = true);
        await using var client = await ConnectAsync(node, offerDeflate: false);

        Assert.Equal("", client.Extensions);
        await client.PingAsync();
        Assert.Equal(1, node.HandedOverSessions);
    }

    [Fact]
    public async Task Compressed_and_plain_subscribers_of_one_channel_get_every_publication_in_order()
    {
        await using var node = await TestNode.StartAsync(o => o.WebSocketCompression = true);
        await using var compressed = await ConnectAsync(node, offerDeflate: true);
        await using var plain = await ConnectAsync(node, offerDeflate: false);
        await using var publisher = await ConnectAsync(node, offerDeflate: true);
        Assert.Contains("permessage-deflate", compressed.Extensions, StringComparison.Ordinal);
        Assert.Equal("", plain.Extensions);
        await compressed.SubscribeAsync("chat/deflate");
        await plain.SubscribeAsync("chat/deflate");

        // Small frames that the server coalesces, and large ones (compressed on the way in too).
        const int count = 200;
        for (var n = 1; n <= count; n++)
        {
            var text = n % 50 == 0 ? new string((char)('a' + n % 26), 40_000) : $"message {n}";
            await publisher.SendAsync(new { type = "publish", id = n, channel = "chat/deflate", data = new { n, text } });
        }

        foreach (var subscriber in new[] { compressed, plain })
        {
            var messages = await subscriber.MessagesAsync(count);
            for (var i = 0; i < count; i++)
            {
                var n = i + 1;
                Assert.Equal(n, messages[i].GetProperty("offset").GetInt64());
                Assert.Equal(n, messages[i].GetProperty("data").GetProperty("n").GetInt32());
                Assert.Equal(n % 50 == 0 ? 40_000 : $"message {n}".Length, messages[i].GetProperty("data").GetProperty("text").GetString()!.Length);
            }
        }
    }

    [Fact]
    public async Task A_compressed_message_that_inflates_past_the_limit_ends_the_session_with_1009_and_others_go_on()
    {
        await using var node = await TestNode.StartAsync(o => o.WebSocketCompression = true);
        await using var bystander = await ConnectAsync(node, offerDeflate: true);
        await bystander.SubscribeAsync("chat/bomb");
        await using var attacker = await ConnectAsync(node, offerDeflate: true);
        await attacker.SubscribeAsync("chat/bomb");

        // 10 MB of zeros, which deflate sends as about 10 KB, as one message.
        var bomb = Encoding.ASCII.GetBytes("{\"type\":\"publish\",\"id\":1,\"channel\":\"chat/bomb\",\"data\":\"" + new string('0', 10 * 1024 * 1024) + "\"}");
        await attacker.SendFragmentAsync(bomb, endOfMessage: true);

        var disconnect = await attacker.NextOfTypeAsync("disconnect");
        await attacker.Closed.WithTimeout("the server's close");
        Assert.Equal(1009, disconnect.GetProperty("code").GetInt32());
        Assert.Contains($"{MaxMessageSize} bytes", disconnect.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, attacker.CloseStatus);
        await AssertUnaffectedAsync(node, bystander);
    }

    [Fact]
    public async Task A_compressed_message_that_never_ends_is_not_read_past_the_limit()
    {
        // Were the server to read an over-size message to its end, as it does on a plain
        // connection, it would inflate this one for as long as the client kept sending.
        await using var node = await TestNode.StartAsync(o => o.WebSocketCompression = true);
        await using var bystander = await ConnectAsync(node, offerDeflate: true);
        await using var attacker = await ConnectAsync(node, offerDeflate: true);
        var zeros = new byte[1024 * 1024];
        zeros.AsSpan().Fill((byte)'0');

        var sent = 0;
        while (!attacker.Closed.IsCompleted && sent < 200)
        {
            try
            {
                await attacker.SendFragmentAsync(zeros, endOfMessage: false).WithTimeout("a fragment");
            }
            catch (Exception e) when (e is WebSocketException or ObjectDisposedException)
            {
                break;
            }
            sent++;
            await Task.WhenAny(attacker.Closed, Task.Delay(20));
        }

        await attacker.Closed.WithTimeout("the server's close");
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, attacker.CloseStatus);
        Assert.True(sent < 200, $"The server was still reading after {sent} MB of inflated zeros.");
        await AssertUnaffectedAsync(node, bystander);
    }

    [Fact]
    public async Task An_over_size_message_on_a_plain_connection_of_a_compressing_node_is_still_discarded_with_an_error()
    {
        await using var node = await TestNode.StartAsync(o => o.WebSocketCompression = true);
        await using var client = await ConnectAsync(node, offerDeflate: false);

        await client.SendRawAsync("{\"type\":\"ping\",\"id\":1,\"pad\":\"" + new string('x', MaxMessageSize) + "\"}");
        var error = await client.NextOfTypeAsync("error");

        Assert.Equal("message_too_large", error.GetProperty("code").GetString());
        await client.PingAsync();
    }

    private static async Task AssertUnaffectedAsync(TestNode node, WsClient bystander)
    {
        await bystander.PingAsync();
        await using var publisher = await ConnectAsync(node, offerDeflate: true);
        await bystander.SubscribeAsync("chat/after");
        await publisher.PublishAsync("chat/after", new { after = true });
        var message = await bystander.NextOfTypeAsync("message");
        Assert.True(message.GetProperty("data").GetProperty("after").GetBoolean());
    }

    private static Task<WsClient> ConnectAsync(TestNode node, bool offerDeflate) =>
        WsClient.ConnectAsync(node.WebSocketUri, configure: options =>
        {
            options.CollectHttpResponseDetails = true;
            if (offerDeflate)
            {
                options.DangerousDeflateOptions = new WebSocketDeflateOptions();
            }
        });
}
