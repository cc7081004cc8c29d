using PubSub.Client.Tests.Support;

namespace PubSub.Client.Tests.Connections;

/// <summary>
/// A gap on a live subscription (protocol section 2.4: <c>subscribed</c> with <c>recovered:
/// false</c>) is reported through <see cref="PubSubSubscription.Missed"/>, in order with the
/// messages, and the stream goes on from the position it names.
/// </summary>
public sealed class LiveGapTests
{
    [Fact]
    public async Task A_gap_the_server_reports_is_raised_between_the_messages_around_it()
    {
        await using var node = await ScriptedWebSocket.StartNodeAsync([ScriptedWebSocket.Connected], script: async (socket, read) =>
        {
            var id = System.Text.Json.JsonDocument.Parse(await read()).RootElement.GetProperty("id").GetInt64();
            await ScriptedWebSocket.SendAsync(socket, string.Join('\n',
                $$$"""{"type":"reply","id":{{{id}}},"result":{"epoch":"E","offset":0}}""",
                """{"type":"message","channel":"chat/gap","offset":1,"epoch":"E","data":{"n":1}}""",
                """{"type":"subscribed","channel":"chat/gap","epoch":"E","offset":3,"recovered":false}""",
                """{"type":"message","channel":"chat/gap","offset":4,"epoch":"E","data":{"n":4}}"""));
        });
        await using var client = ClientHarness.Create(node.PubSubUri(), PubSubTransport.WebSocket);
        await client.ConnectAsync().WithTimeout("connect");
        var subscription = await client.SubscribeAsync("chat/gap");

        var messages = await subscription.ReadAsync(2);

        Assert.Equal([1, 4], messages.Select(m => m.N()));
        Assert.Equal(new StreamPosition(4, "E"), subscription.Position);
        Assert.False(subscription.Recovered);
        Assert.Equal(PubSubClientState.Connected, client.State);
    }

    [Fact]
    public async Task The_missed_event_names_where_the_gap_starts_and_ends()
    {
        var gate = new TaskCompletionSource();
        await using var node = await ScriptedWebSocket.StartNodeAsync([ScriptedWebSocket.Connected], script: async (socket, read) =>
        {
            var id = System.Text.Json.JsonDocument.Parse(await read()).RootElement.GetProperty("id").GetInt64();
            await ScriptedWebSocket.SendAsync(socket, string.Join('\n',
                $$$"""{"type":"reply","id":{{{id}}},"result":{"epoch":"E","offset":0}}""",
                """{"type":"message","channel":"chat/gap","offset":1,"epoch":"E","data":{"n":1}}"""));
            await gate.Task;
            await ScriptedWebSocket.SendAsync(socket, string.Join('\n',
                """{"type":"subscribed","channel":"chat/gap","epoch":"E","offset":3,"recovered":false}""",
                """{"type":"message","channel":"chat/gap","offset":4,"epoch":"E","data":{"n":4}}"""));
        });
        await using var client = ClientHarness.Create(node.PubSubUri(), PubSubTransport.WebSocket);
        await client.ConnectAsync().WithTimeout("connect");
        var subscription = await client.SubscribeAsync("chat/gap");
        var seen = new List<string>();
        subscription.Missed += (_, e) =>
        {
            lock (seen)
            {
                // How many messages the stream held when the gap was raised tells its place among them.
                seen.Add($"missed {e.From} -> {e.Position} after {subscription.Reader.Count} queued");
            }
        };
        Assert.Equal(1, (await subscription.ReadAsync(1))[0].N());

        gate.SetResult();
        var after = (await subscription.ReadAsync(1))[0];

        Assert.Equal(4, after.N());
        Assert.Equal(["missed E:1 -> E:3 after 0 queued"], seen);
    }
}
