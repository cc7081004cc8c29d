using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using PubSub.Client.Tests.Support;

namespace PubSub.Client.Tests.Transports;

/// <summary>
/// <see cref="PubSubClientOptions.WebSocketCompression"/>: the client offers permessage-deflate,
/// and gets it only from a node with <c>PubSub:WebSocketCompression</c> on. What was offered and
/// what was accepted is read on the node, from the upgrade request and its answer.
/// </summary>
public sealed class WebSocketCompressionTests
{
    [Fact]
    public async Task A_client_that_asks_for_compression_gets_it_from_a_node_that_enables_it()
    {
        var handshakes = new Handshakes();
        await using var node = await handshakes.StartNodeAsync(compression: true);
        await using var client = await ClientHarness.ConnectAsync(node, PubSubTransport.WebSocket, o => o.WebSocketCompression = true);

        var (offered, accepted) = handshakes.Single();
        Assert.Contains("permessage-deflate", offered, StringComparison.Ordinal);
        Assert.Contains("client_no_context_takeover", offered, StringComparison.Ordinal);
        Assert.Contains("permessage-deflate", accepted, StringComparison.Ordinal);
        await AssertRoundTripAsync(client, "chat/deflate-on");
    }

    [Fact]
    public async Task A_client_that_asks_for_compression_gets_none_from_a_node_that_does_not_enable_it()
    {
        var handshakes = new Handshakes();
        await using var node = await handshakes.StartNodeAsync(compression: false);
        await using var client = await ClientHarness.ConnectAsync(node, PubSubTransport.WebSocket, o => o.WebSocketCompression = true);

        var (offered, accepted) = handshakes.Single();
        Assert.Contains("permessage-deflate", offered, StringComparison.Ordinal);
        Assert.Equal("", accepted);
        await AssertRoundTripAsync(client, "chat/deflate-off");
    }

    [Fact]
    public async Task A_client_does_not_offer_compression_unless_asked()
    {
        var handshakes = new Handshakes();
        await using var node = await handshakes.StartNodeAsync(compression: true);
        await using var client = await ClientHarness.ConnectAsync(node, PubSubTransport.WebSocket);

        var (offered, accepted) = handshakes.Single();
        Assert.Equal("", offered);
        Assert.Equal("", accepted);
    }

    [Fact]
    public async Task Compressed_and_plain_clients_on_one_channel_both_get_every_publication_in_order()
    {
        var handshakes = new Handshakes();
        await using var node = await handshakes.StartNodeAsync(compression: true);
        await using var compressed = await ClientHarness.ConnectAsync(node, PubSubTransport.WebSocket, o => o.WebSocketCompression = true);
        await using var plain = await ClientHarness.ConnectAsync(node, PubSubTransport.WebSocket);
        await using var compressedSubscription = await compressed.SubscribeAsync("chat/mixed");
        await using var plainSubscription = await plain.SubscribeAsync("chat/mixed");

        // The compressed client publishes: its large messages travel compressed to the node too.
        const int count = 150;
        for (var n = 1; n <= count; n++)
        {
            await compressed.PublishAsync("chat/mixed", new { n, text = Text(n) }).WithTimeout($"publish {n}");
        }

        foreach (var subscription in new[] { compressedSubscription, plainSubscription })
        {
            var messages = await subscription.ReadAsync(count);
            Assert.Equal(Enumerable.Range(1, count), messages.Select(m => m.N()));
            Assert.Equal(Enumerable.Range(1, count).Select(Text), messages.Select(m => m.Data.GetProperty("text").GetString()));
        }
        Assert.Equal(2, handshakes.All.Length);
        Assert.Single(handshakes.All, h => h.Accepted.Contains("permessage-deflate", StringComparison.Ordinal));
    }

    private static string Text(int n) => n % 30 == 0 ? new string((char)('a' + n % 26), 30_000) : $"message {n}";

    private static async Task AssertRoundTripAsync(PubSubClient client, string channel)
    {
        await using var subscription = await client.SubscribeAsync(channel);
        await client.PublishAsync(channel, new { n = 1, text = new string('z', 20_000) });
        var message = (await subscription.ReadAsync(1))[0];
        Assert.Equal(1, message.N());
        Assert.Equal(20_000, message.Data.GetProperty("text").GetString()!.Length);
    }

    /// <summary>The <c>Sec-WebSocket-Extensions</c> of each upgrade to the node: offered by the client, accepted by the node.</summary>
    private sealed class Handshakes
    {
        private readonly ConcurrentQueue<(string Offered, string Accepted)> _seen = new();

        public (string Offered, string Accepted)[] All => [.. _seen];

        public (string Offered, string Accepted) Single() => Assert.Single(_seen);

        public Task<TestNode> StartNodeAsync(bool compression) =>
            TestNode.StartAsync(o => o.WebSocketCompression = compression, map: app =>
            {
                app.Use(async (context, next) =>
                {
                    // Read before the WebSockets middleware, which runs in the PubSub endpoints' branch.
                    if (context.Request.Headers.Upgrade.ToString().Equals("websocket", StringComparison.OrdinalIgnoreCase))
                    {
                        var offered = context.Request.Headers.SecWebSocketExtensions.ToString();
                        context.Response.OnStarting(() =>
                        {
                            _seen.Enqueue((offered, context.Response.Headers.SecWebSocketExtensions.ToString()));
                            return Task.CompletedTask;
                        });
                    }
                    await next(context);
                });
                app.MapPubSub("/pubsub");
                app.MapPubSubApi("/api");
            });
    }
}
