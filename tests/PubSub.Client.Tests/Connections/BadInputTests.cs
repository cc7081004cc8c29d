using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using PubSub.Client.Tests.Support;

namespace PubSub.Client.Tests.Connections;

/// <summary>
/// A server that sends what the protocol does not allow: a real node with a middleman in front of
/// its WebSocket endpoint that answers the first connections with scripted messages. The client
/// reports each problem by name, drops that connection, and reconnects to the real endpoint,
/// recovering its subscriptions; nothing hangs.
/// </summary>
public sealed class BadInputTests
{
    private const string Connected = ScriptedWebSocket.Connected;

    [Theory]
    [InlineData("{\"type\":\"message\",\"channel\":", "not valid JSON")]
    [InlineData("[1,2]", "must be a JSON object")]
    [InlineData("{\"channel\":\"chat/x\"}", "has no 'type'")]
    [InlineData("{\"type\":\"message\",\"channel\":\"chat/x\",\"epoch\":\"e\",\"offset\":\"7\",\"data\":1}", "'offset' must be an integer")]
    [InlineData("{\"type\":\"message\",\"channel\":\"chat/x\",\"epoch\":\"e\",\"offset\":7}", "exactly one of 'data' and 'binary'")]
    [InlineData("{\"type\":\"reply\",\"id\":1}", "needs a 'result' or an 'error'")]
    [InlineData("{\"type\":\"disconnect\",\"code\":\"4000\"}", "'code' must be an integer")]
    public async Task A_malformed_frame_is_reported_by_name_and_the_client_reconnects(string frame, string problem)
    {
        await using var node = await ScriptedWebSocket.StartNodeAsync([Connected + "\n" + frame]);
        await using var client = ClientHarness.Create(node.PubSubUri(), PubSubTransport.WebSocket);
        var events = new ClientEvents(client);

        await client.ConnectAsync().WithTimeout("connect to the scripted endpoint");
        var error = Assert.IsType<PubSubException>(await events.NextErrorAsync());
        var lost = await events.NextAsync(PubSubClientState.Reconnecting);
        await events.NextAsync(PubSubClientState.Connected);
        await using var subscription = await client.SubscribeAsync("chat/after");
        await client.PublishAsync("chat/after", new { n = 1 });

        Assert.Equal(PubSubErrorCodes.BadFrame, error.Code);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
        Assert.Same(error, lost.Error);
        Assert.StartsWith(node.NodeId + ".", client.SessionId, StringComparison.Ordinal);
        Assert.Equal(1, (await subscription.ReadAsync(1))[0].N());
    }

    [Fact]
    public async Task A_binary_websocket_message_is_reported_and_the_client_reconnects()
    {
        await using var node = await ScriptedWebSocket.StartNodeAsync([Connected, "\u0001binary"], binaryLast: true);
        await using var client = ClientHarness.Create(node.PubSubUri(), PubSubTransport.WebSocket);
        var events = new ClientEvents(client);

        await client.ConnectAsync().WithTimeout("connect");
        var lost = await events.NextAsync(PubSubClientState.Reconnecting);
        await events.NextAsync(PubSubClientState.Connected);

        var error = Assert.IsType<PubSubException>(lost.Error);
        Assert.Equal(PubSubErrorCodes.BadFrame, error.Code);
        Assert.Contains("binary WebSocket message", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_first_frame_that_is_not_connected_fails_the_transport_and_the_next_one_is_used()
    {
        await using var node = await ScriptedWebSocket.StartNodeAsync(["""{"type":"pong"}"""]);
        await using var client = ClientHarness.Create(node.PubSubUri());

        await client.ConnectAsync().WithTimeout("connect");

        Assert.Equal(PubSubTransport.ServerSentEvents, client.Transport);
    }

    [Fact]
    public async Task A_first_frame_that_is_not_connected_is_named_when_no_other_transport_is_left()
    {
        await using var node = await ScriptedWebSocket.StartNodeAsync(["""{"type":"pong"}"""]);
        await using var client = ClientHarness.Create(node.PubSubUri(), PubSubTransport.WebSocket);

        var error = await Assert.ThrowsAsync<PubSubException>(() => client.ConnectAsync());

        Assert.Equal(PubSubErrorCodes.TransportFailed, error.Code);
        Assert.Contains("The first frame was 'pong', not 'connected'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_publication_whose_binary_is_not_base64_is_skipped_and_reported_and_the_rest_arrive()
    {
        var bad = """{"type":"message","channel":"chat/poison","offset":2,"epoch":"E","binary":"***"}""";
        var good = """{"type":"message","channel":"chat/poison","offset":3,"epoch":"E","data":{"n":3}}""";
        await using var node = await ScriptedWebSocket.StartNodeAsync([Connected], script: async (socket, read) =>
        {
            var subscribe = await read();
            var id = System.Text.Json.JsonDocument.Parse(subscribe).RootElement.GetProperty("id").GetInt64();
            await ScriptedWebSocket.SendAsync(socket, $$$"""{"type":"reply","id":{{{id}}},"result":{"epoch":"E","offset":1}}""" + "\n" + bad + "\n" + good);
        });
        await using var client = ClientHarness.Create(node.PubSubUri(), PubSubTransport.WebSocket);
        var events = new ClientEvents(client);
        await client.ConnectAsync().WithTimeout("connect");

        var subscription = await client.SubscribeAsync("chat/poison");
        var message = (await subscription.ReadAsync(1))[0];
        var error = Assert.IsType<PubSubException>(await events.NextErrorAsync());

        Assert.Equal(3, message.N());
        Assert.Equal(PubSubErrorCodes.BadFrame, error.Code);
        Assert.Contains("Publication E:2 of 'chat/poison'", error.Message, StringComparison.Ordinal);
        Assert.Equal(PubSubClientState.Connected, client.State);
    }

    [Theory]
    [InlineData(4500, false)]
    [InlineData(4001, true)]
    [InlineData(1011, true)]
    public async Task A_websocket_close_code_without_a_disconnect_frame_is_honoured(int code, bool reconnects)
    {
        await using var node = await ScriptedWebSocket.StartNodeAsync([Connected], script: async (socket, _) =>
            await socket.CloseOutputAsync((WebSocketCloseStatus)code, "Scripted close.", CancellationToken.None));
        await using var client = ClientHarness.Create(node.PubSubUri(), PubSubTransport.WebSocket);
        var events = new ClientEvents(client);

        await client.ConnectAsync().WithTimeout("connect");
        var ended = await events.NextAsync(reconnects ? PubSubClientState.Reconnecting : PubSubClientState.Closed);
        if (reconnects)
        {
            await events.NextAsync(PubSubClientState.Connected);
        }

        Assert.Equal(reconnects ? PubSubClientState.Connected : PubSubClientState.Closed, client.State);
        if (code >= 4000)
        {
            var error = Assert.IsType<PubSubDisconnectedException>(ended.Error);
            Assert.Equal(code, error.DisconnectCode);
            Assert.Equal("Scripted close.", error.Reason);
        }
    }

    [Fact]
    public async Task A_connection_dropped_without_a_close_is_replaced_and_recovered()
    {
        await using var node = await ScriptedWebSocket.StartNodeAsync([Connected], script: async (socket, read) =>
        {
            await read();
            // As a crashed server or a cut network: no disconnect frame, no close handshake.
            socket.Abort();
        });
        await using var client = ClientHarness.Create(node.PubSubUri(), PubSubTransport.WebSocket);
        var events = new ClientEvents(client);

        await client.ConnectAsync().WithTimeout("connect");
        // The subscribe reaches the script, which drops the connection instead of answering; the
        // client reconnects to the real endpoint and subscribes there.
        var subscribing = client.SubscribeAsync("chat/dropped");
        var lost = await events.NextAsync(PubSubClientState.Reconnecting);
        await events.NextAsync(PubSubClientState.Connected);
        await using var subscription = await subscribing.WithTimeout("the subscribe to complete on the new session");
        await client.PublishAsync("chat/dropped", new { n = 1 });

        Assert.Equal(PubSubErrorCodes.ConnectionLost, Assert.IsType<PubSubException>(lost.Error).Code);
        Assert.StartsWith(node.NodeId + ".", client.SessionId, StringComparison.Ordinal);
        Assert.Equal(1, (await subscription.ReadAsync(1))[0].N());
    }

    [Fact]
    public async Task An_error_frame_is_reported_and_the_session_goes_on()
    {
        await using var node = await ScriptedWebSocket.StartNodeAsync([Connected + "\n" + """{"type":"error","code":"bad_request","message":"The frame is not valid JSON."}"""], holdOpen: true);
        await using var client = ClientHarness.Create(node.PubSubUri(), PubSubTransport.WebSocket);
        var events = new ClientEvents(client);

        await client.ConnectAsync().WithTimeout("connect");
        var error = Assert.IsType<PubSubException>(await events.NextErrorAsync());

        Assert.Equal(PubSubErrorCodes.BadRequest, error.Code);
        Assert.Contains("The frame is not valid JSON.", error.Message, StringComparison.Ordinal);
        Assert.Equal(PubSubClientState.Connected, client.State);
        Assert.DoesNotContain(events.All, e => e.State == PubSubClientState.Reconnecting);
    }
}
