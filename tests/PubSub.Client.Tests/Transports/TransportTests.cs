using System.Text.Json;
using System.Text.Json.Serialization;
using PubSub.Client.Tests.Support;

namespace PubSub.Client.Tests.Transports;

/// <summary>The client against a real node, once per transport: connect, subscribe, publish, receive, history, errors.</summary>
public sealed class TransportTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync() => _node = await TestNode.StartAsync();

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Theory, AllTransports]
    public async Task Connects_over_the_transport_it_is_given(PubSubTransport transport)
    {
        await using var client = ClientHarness.Create(_node.PubSubUri(), transport);
        var events = new ClientEvents(client);

        await client.ConnectAsync().WithTimeout("connect");
        var connected = await events.NextAsync(PubSubClientState.Connected);

        Assert.Equal(PubSubClientState.Connected, client.State);
        Assert.Equal(transport, client.Transport);
        Assert.Equal(transport, connected.Transport);
        Assert.StartsWith(_node.NodeId + ".", client.SessionId, StringComparison.Ordinal);
        Assert.True(_node.HasSession(client.SessionId!));
    }

    [Theory, AllTransports]
    public async Task Receives_what_the_server_and_the_client_publish_in_order(PubSubTransport transport)
    {
        await using var client = await ClientHarness.ConnectAsync(_node, transport);
        await using var subscription = await client.SubscribeAsync("chat/roundtrip");

        await _node.PublishNumbersAsync("chat/roundtrip", [1, 2]);
        var published = await client.PublishAsync("chat/roundtrip", new { n = 3 });
        var messages = await subscription.ReadAsync(3);

        Assert.Equal([1, 2, 3], messages.Select(m => m.N()));
        Assert.Equal([1L, 2, 3], messages.Select(m => m.Offset));
        Assert.All(messages, m => Assert.Equal("chat/roundtrip", m.Channel));
        Assert.All(messages, m => Assert.Equal(published.Epoch, m.Epoch));
        Assert.Equal(new StreamPosition(3, published.Epoch), published);
        Assert.Equal(published, subscription.Position);
    }

    [Theory, AllTransports]
    public async Task Binary_data_stays_binary(PubSubTransport transport)
    {
        await using var client = await ClientHarness.ConnectAsync(_node, transport);
        await using var subscription = await client.SubscribeAsync("chat/bytes");
        byte[] bytes = [0, 1, 2, 255, 10, 13];

        await client.PublishAsync("chat/bytes", bytes);
        var message = (await subscription.ReadAsync(1))[0];

        Assert.True(message.IsBinary);
        Assert.Equal(bytes, message.Bytes.ToArray());
        Assert.Throws<InvalidOperationException>(() => message.Data);
    }

    [Theory, AllTransports]
    public async Task Typed_data_round_trips_with_reflection_and_with_source_generation(PubSubTransport transport)
    {
        await using var client = await ClientHarness.ConnectAsync(_node, transport);
        await using var subscription = await client.SubscribeAsync("chat/typed");

        await client.PublishAsync("chat/typed", new ChatLine("ann", "line\nwith a newline and ünïcode"));
        await client.PublishAsync("chat/typed", new ChatLine("bob", "hi"), TestJsonContext.Default.ChatLine);
        await client.PublishAsync("chat/typed", JsonDocument.Parse("""[1, {"a": null}]""").RootElement);
        var messages = await subscription.ReadAsync(3);

        Assert.Equal(new ChatLine("ann", "line\nwith a newline and ünïcode"), messages[0].Deserialize<ChatLine>());
        Assert.Equal(new ChatLine("bob", "hi"), messages[1].Deserialize(TestJsonContext.Default.ChatLine));
        Assert.Equal("""[1,{"a":null}]""", messages[2].Data.GetRawText());
    }

    [Theory, AllTransports]
    public async Task History_reads_the_latest_publications_and_those_after_a_position(PubSubTransport transport)
    {
        await using var client = await ClientHarness.ConnectAsync(_node, transport);
        await _node.PublishNumbersAsync("chat/history", [1, 2, 3, 4]);

        var latest = await client.GetHistoryAsync("chat/history", limit: 2);
        var after = await client.GetHistoryAsync("chat/history", since: new StreamPosition(1, latest.Latest.Epoch));

        Assert.Equal(new StreamPosition(4, latest.Latest.Epoch), latest.Latest);
        Assert.Equal([3, 4], latest.Publications.Select(p => p.N()));
        Assert.Equal([2L, 3, 4], after.Publications.Select(p => p.Offset));
    }

    [Theory, AllTransports]
    public async Task Error_replies_become_exceptions_with_the_protocol_code(PubSubTransport transport)
    {
        await using var client = await ClientHarness.ConnectAsync(_node, transport);

        var forbidden = await Assert.ThrowsAsync<PubSubException>(() => client.PublishAsync("news/readonly", new { n = 1 }));
        var unknown = await Assert.ThrowsAsync<PubSubException>(() => client.SubscribeAsync("nope/x"));
        var mismatch = await Assert.ThrowsAsync<PubSubException>(() => client.GetHistoryAsync("chat/e", new StreamPosition(1, "not-the-epoch")));
        await using var first = await client.SubscribeAsync("chat/twice");
        var twice = await Assert.ThrowsAsync<PubSubException>(() => client.SubscribeAsync("chat/twice"));

        Assert.Equal(PubSubErrorCodes.Forbidden, forbidden.Code);
        Assert.Equal(PubSubErrorCodes.UnknownChannel, unknown.Code);
        Assert.Contains("nope/x", unknown.Message, StringComparison.Ordinal);
        Assert.Equal(PubSubErrorCodes.EpochMismatch, mismatch.Code);
        Assert.Equal(PubSubErrorCodes.AlreadySubscribed, twice.Code);
        // The session is unharmed: the first subscription still works.
        await client.PublishAsync("chat/twice", new { n = 1 });
        Assert.Equal(1, (await first.ReadAsync(1))[0].N());
    }

    [Theory, AllTransports]
    public async Task Unsubscribing_ends_the_stream_and_the_server_subscription(PubSubTransport transport)
    {
        await using var client = await ClientHarness.ConnectAsync(_node, transport);
        var subscription = await client.SubscribeAsync("chat/leave");

        await subscription.UnsubscribeAsync();
        var again = await client.SubscribeAsync("chat/leave");
        await _node.PublishNumbersAsync("chat/leave", [1]);

        await subscription.Completion.WithTimeout("the stream to end");
        Assert.Empty(subscription.Reader.ReadAllAsync().ToBlockingEnumerable());
        Assert.Equal(1, (await again.ReadAsync(1))[0].N());
    }

    [Theory, AllTransports]
    public async Task Concurrent_publishes_are_all_made_and_delivered_once_in_order(PubSubTransport transport)
    {
        const int Publishers = 8, Each = 25;
        await using var client = await ClientHarness.ConnectAsync(_node, transport);
        await using var subscription = await client.SubscribeAsync("chat/burst");

        var positions = await Task.WhenAll(Enumerable.Range(0, Publishers).Select(p => Task.Run(async () =>
        {
            var mine = new List<StreamPosition>();
            for (var i = 0; i < Each; i++)
            {
                mine.Add(await client.PublishAsync("chat/burst", new { n = p * Each + i }));
            }
            return mine;
        }))).WithTimeout("every publish");
        var messages = await subscription.ReadAsync(Publishers * Each);

        Assert.Equal(Enumerable.Range(1, Publishers * Each).Select(i => (long)i), positions.SelectMany(p => p).Select(p => p.Offset).Order());
        Assert.Equal(Enumerable.Range(1, Publishers * Each).Select(i => (long)i), messages.Select(m => m.Offset));
        // Each publisher's own publishes keep their order.
        Assert.All(positions, mine => Assert.Equal(mine.Select(p => p.Offset).Order(), mine.Select(p => p.Offset)));
    }

    [Theory, AllTransports]
    public async Task A_publish_larger_than_the_server_accepts_fails_before_it_is_sent(PubSubTransport transport)
    {
        await using var client = await ClientHarness.ConnectAsync(_node, transport);

        var error = await Assert.ThrowsAsync<PubSubException>(() => client.PublishAsync("chat/big", new string('x', 70_000)));

        Assert.Equal(PubSubErrorCodes.MessageTooLarge, error.Code);
        Assert.Equal(1, (await client.PublishAsync("chat/big", "small")).Offset);
    }
}

public sealed record ChatLine(string User, string Text);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ChatLine))]
internal sealed partial class TestJsonContext : JsonSerializerContext;
