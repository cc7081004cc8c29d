using PubSub.Client.Tests.Support;

namespace PubSub.Client.Tests.Transports;

/// <summary>
/// <see cref="PubSubEncoding.MessagePack"/> against a real node (docs/protocol.md, section 6):
/// on every transport (SSE in JSON, as it carries text only), across a reconnect, across a fall
/// back from WebSocket, and beside a JSON subscriber of the same channel.
/// </summary>
public sealed class MessagePackTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync() => _node = await TestNode.StartAsync();

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private static void MessagePack(PubSubClientOptions options) => options.Encoding = PubSubEncoding.MessagePack;

    private static PubSubEncoding Expected(PubSubTransport transport) =>
        transport == PubSubTransport.ServerSentEvents ? PubSubEncoding.Json : PubSubEncoding.MessagePack;

    [Theory, AllTransports]
    public async Task Subscribes_publishes_JSON_and_bytes_and_reads_history(PubSubTransport transport)
    {
        await using var client = await ClientHarness.ConnectAsync(_node, transport, MessagePack);
        await using var subscription = await client.SubscribeAsync("chat/msgpack");
        byte[] bytes = [0, 1, 2, 255, 10, 13];

        await _node.PublishNumbersAsync("chat/msgpack", [1]);
        await client.PublishAsync("chat/msgpack", new { n = 2, text = "été", big = 12345678901L, f = 1.5, list = new object?[] { true, null } });
        await client.PublishAsync("chat/msgpack", bytes);
        var messages = await subscription.ReadAsync(3);
        var history = await client.GetHistoryAsync("chat/msgpack").WithTimeout("history");

        Assert.Equal(Expected(transport), client.SessionEncoding);
        Assert.Equal(1, messages[0].N());
        Assert.Equal("""{"n":2,"text":"été","big":12345678901,"f":1.5,"list":[true,null]}""", messages[1].Data.GetRawText());
        Assert.Equal(bytes, messages[2].Bytes.ToArray());
        Assert.Equal([1L, 2, 3], history.Publications.Select(p => p.Offset));
        Assert.Equal(messages[1].Data.GetRawText(), history.Publications[1].Data.GetRawText());
        Assert.Equal(bytes, history.Publications[2].Bytes.ToArray());
    }

    [Theory]
    [InlineData(PubSubTransport.WebSocket)]
    [InlineData(PubSubTransport.LongPolling)]
    public async Task Recovers_what_it_missed_after_a_reconnect(PubSubTransport transport)
    {
        await using var client = await ClientHarness.ConnectAsync(_node, transport, MessagePack);
        var events = new ClientEvents(client);
        await using var subscription = await client.SubscribeAsync("chat/msgpack-recovery");
        await _node.PublishNumbersAsync("chat/msgpack-recovery", [1]);
        Assert.Equal(1, (await subscription.ReadAsync(1))[0].N());

        _node.CloseSession(client.SessionId!);
        await events.NextAsync(PubSubClientState.Reconnecting);
        await _node.PublishNumbersAsync("chat/msgpack-recovery", [2, 3]);
        await events.NextAsync(PubSubClientState.Connected);
        await _node.PublishNumbersAsync("chat/msgpack-recovery", [4]);

        Assert.Equal([2, 3, 4], (await subscription.ReadAsync(3)).Select(m => m.N()));
        Assert.Equal(PubSubEncoding.MessagePack, client.SessionEncoding);
    }

    [Theory]
    [InlineData(PubSubTransport.LongPolling)]
    [InlineData(PubSubTransport.ServerSentEvents)]
    public async Task Falls_back_from_websocket_and_recovers_in_the_fallbacks_encoding(PubSubTransport fallback)
    {
        var webSocketWorks = true;
        await using var client = await ClientHarness.ConnectAsync(_node, configure: o =>
        {
            MessagePack(o);
            o.Transports.Clear();
            o.Transports.Add(PubSubTransport.WebSocket);
            o.Transports.Add(fallback);
            o.UpgradeProbeInterval = null;
            // From now on a proxy that swallows upgrades, say.
            o.WebSocketOptions = _ =>
            {
                if (!webSocketWorks)
                {
                    throw new InvalidOperationException("The test broke WebSocket.");
                }
            };
        });
        var events = new ClientEvents(client);
        await using var subscription = await client.SubscribeAsync("chat/msgpack-fallback");
        await client.PublishAsync("chat/msgpack-fallback", new { n = 1 });
        Assert.Equal(1, (await subscription.ReadAsync(1))[0].N());
        Assert.Equal(PubSubEncoding.MessagePack, client.SessionEncoding);

        webSocketWorks = false;
        _node.CloseSession(client.SessionId!);
        await events.NextAsync(PubSubClientState.Reconnecting);
        await _node.PublishNumbersAsync("chat/msgpack-fallback", [2]);
        await events.NextAsync(PubSubClientState.Connected);
        await client.PublishAsync("chat/msgpack-fallback", new byte[] { 3 });

        var messages = await subscription.ReadAsync(2);
        Assert.Equal(fallback, client.Transport);
        Assert.Equal(Expected(fallback), client.SessionEncoding);
        Assert.Equal(2, messages[0].N());
        Assert.Equal(new byte[] { 3 }, messages[1].Bytes.ToArray());
        Assert.Equal([2L, 3], messages.Select(m => m.Offset));
    }

    [Theory, AllTransports]
    public async Task A_MessagePack_and_a_JSON_subscriber_get_the_same_publications_in_order(PubSubTransport transport)
    {
        await using var packed = await ClientHarness.ConnectAsync(_node, transport, MessagePack);
        await using var json = await ClientHarness.ConnectAsync(_node, PubSubTransport.WebSocket);
        await using var packedSubscription = await packed.SubscribeAsync("chat/mixed");
        await using var jsonSubscription = await json.SubscribeAsync("chat/mixed");

        await packed.PublishAsync("chat/mixed", new { n = 1 });
        await json.PublishAsync("chat/mixed", new { n = 2 });
        await packed.PublishAsync("chat/mixed", new byte[] { 3, 0 });
        await json.PublishAsync("chat/mixed", new byte[] { 4, 0 });
        await _node.PublishNumbersAsync("chat/mixed", [5]);
        var fromPacked = await packedSubscription.ReadAsync(5);
        var fromJson = await jsonSubscription.ReadAsync(5);

        Assert.Equal(fromJson.Select(Describe), fromPacked.Select(Describe));
        Assert.Equal(["1 {\"n\":1}", "2 {\"n\":2}", "3 0300", "4 0400", "5 {\"n\":5}"], fromPacked.Select(Describe));
    }

    private static string Describe(PubSubMessage message) =>
        $"{message.Offset} {(message.IsBinary ? Convert.ToHexStringLower(message.Bytes.Span) : message.Data.GetRawText())}";
}
