using System.Net.WebSockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;

namespace PubSub.Server.Tests.Stomp;

/// <summary>
/// What a STOMP client that sends something wrong sees (docs/protocol.md, section 7.6): an ERROR
/// frame with the error's code in <c>x-code</c> (and <c>receipt-id</c> when the frame asked for a
/// receipt), then the socket closes, while the node's other sessions, STOMP and PubSub protocol,
/// go on receiving.
/// </summary>
public sealed class StompBadInputTests : IAsyncLifetime
{
    private const int MaxMessageSize = 4096;

    private TestNode _node = null!;

    public async Task InitializeAsync() => _node = await TestNode.StartAsync(options =>
    {
        options.MaxMessageSize = MaxMessageSize;
        options.Channel("private/{user}", c => c.ForUser("user"));
    });

    public async Task DisposeAsync() => await _node.DisposeAsync();

    public static TheoryData<string, string, string?, string> Connected => new()
    {
        // name, what the client sends after CONNECT, receipt-id expected, x-code expected
        { "frame_without_nul", "SEND\ndestination:chat/a\n\nhello", null, "bad_request" },
        { "bad_escape", "SEND\ndestination:chat/a\\x\n\n\0", null, "bad_request" },
        { "content_length_longer_than_body", "SEND\ndestination:chat/a\ncontent-length:50\n\nhello\0", null, "bad_request" },
        { "content_length_shorter_than_body", "SEND\ndestination:chat/a\ncontent-length:1\n\nhello\0", null, "bad_request" },
        { "body_over_the_size_limit", $"SEND\ndestination:chat/a\n\n{new string('x', MaxMessageSize)}\0", null, "message_too_large" },
        { "unknown_channel", "SUBSCRIBE\ndestination:nope/x\nid:1\nreceipt:r1\n\n\0", "r1", "unknown_channel" },
        { "invalid_channel", "SUBSCRIBE\ndestination:chat/a,b\nid:1\nreceipt:r1\n\n\0", "r1", "invalid_channel" },
        { "channel_the_user_may_not_read", "SUBSCRIBE\ndestination:private/alice\nid:1\nreceipt:r2\n\n\0", "r2", "forbidden" },
        { "send_where_clients_may_not_publish", "SEND\ndestination:news/a\ncontent-type:application/json\nreceipt:r3\n\n1\0", "r3", "forbidden" },
        { "send_of_invalid_json", "SEND\ndestination:chat/a\ncontent-type:application/json\nreceipt:r4\n\n{nope\0", "r4", "bad_request" },
        { "duplicate_subscription_id", "SUBSCRIBE\ndestination:chat/a\nid:same\n\n\0SUBSCRIBE\ndestination:chat/b\nid:same\nreceipt:r5\n\n\0", "r5", "bad_request" },
        { "second_subscription_to_a_channel", "SUBSCRIBE\ndestination:chat/a\nid:1\n\n\0SUBSCRIBE\ndestination:chat/a\nid:2\nreceipt:r6\n\n\0", "r6", "already_subscribed" },
        { "unsubscribe_of_an_unknown_id", "UNSUBSCRIBE\nid:never\nreceipt:r7\n\n\0", "r7", "not_subscribed" },
        { "ack_of_no_message", "ACK\nid:what\nreceipt:r8\n\n\0", "r8", "bad_request" },
        { "subscribe_without_id", "SUBSCRIBE\ndestination:chat/a\n\n\0", null, "bad_request" },
        { "bad_ack_mode", "SUBSCRIBE\ndestination:chat/a\nid:1\nack:later\n\n\0", null, "bad_request" },
        { "bad_x_since", "SUBSCRIBE\ndestination:chat/a\nid:1\nx-since:yesterday\n\n\0", null, "bad_request" },
        { "transaction", "BEGIN\ntransaction:t1\n\n\0", null, "bad_request" },
        { "unknown_command", "PUBLISH\n\n\0", null, "unknown_type" },
        { "second_connect", "CONNECT\naccept-version:1.2\n\n\0", null, "bad_request" },
    };

    [Theory]
    [MemberData(nameof(Connected))]
    public async Task A_bad_frame_is_an_error_and_the_end_of_its_session_only(string name, string wire, string? receiptId, string code)
    {
        await using var bystanders = await Bystanders.StartAsync(_node);
        var (client, connected) = await StompClient.ConnectAsync(_node.WebSocketUri);
        await using var _client = client;

        await client.SendAsync(wire);
        var error = await client.ExpectAsync("ERROR");
        await client.Closed.WithTimeout($"the server to close after {name}");

        Assert.Equal(code, error["x-code"]);
        Assert.Equal(receiptId, error["receipt-id"]);
        Assert.False(string.IsNullOrEmpty(error["message"]), name);
        Assert.Equal(error["message"], error.BodyText);
        Assert.Equal((WebSocketCloseStatus)4501, client.CloseStatus);
        await Timeouts.Until(() => !_node.HasSession(connected["session"]!), "the session is released");
        await bystanders.StillReceiveAsync();
    }

    [Fact]
    public async Task A_frame_before_connect_is_an_error()
    {
        await using var bystanders = await Bystanders.StartAsync(_node);
        await using var client = await StompClient.OpenAsync(_node.WebSocketUri);

        await client.SendAsync("SUBSCRIBE\ndestination:chat/a\nid:1\n\n\0");
        var error = await client.ExpectAsync("ERROR");
        await client.Closed.WithTimeout("the server to close");

        Assert.Equal("bad_request", error["x-code"]);
        Assert.Contains("CONNECT", error["message"], StringComparison.Ordinal);
        await bystanders.StillReceiveAsync();
    }

    [Fact]
    public async Task A_websocket_offering_only_unknown_subprotocols_is_told_the_stomp_ones_too()
    {
        var failed = await Assert.ThrowsAsync<WebSocketException>(() => StompClient.OpenAsync(_node.WebSocketUri, "v13.stomp"));

        Assert.Contains("400", failed.Message, StringComparison.Ordinal);
    }

    /// <summary>A STOMP and a PubSub-protocol subscriber of one channel, to show that a bad client costs the others nothing.</summary>
    private sealed class Bystanders : IAsyncDisposable
    {
        private readonly TestNode _node;
        private readonly StompClient _stomp;
        private readonly WsClient _json;

        private Bystanders(TestNode node, StompClient stomp, WsClient json) => (_node, _stomp, _json) = (node, stomp, json);

        public static async Task<Bystanders> StartAsync(TestNode node)
        {
            var (stomp, _) = await StompClient.ConnectAsync(node.WebSocketUri);
            await stomp.SendAsync("SUBSCRIBE\ndestination:chat/bystanders\nid:b\nreceipt:b\n\n\0");
            await stomp.ExpectAsync("RECEIPT");
            var json = await node.ConnectAsync();
            await json.SubscribeAsync("chat/bystanders");
            return new Bystanders(node, stomp, json);
        }

        public async Task StillReceiveAsync()
        {
            var position = await _node.Publisher.PublishAsync("chat/bystanders", Payload.FromJson("\"still here\""u8));
            var message = await _stomp.ExpectAsync("MESSAGE");
            var frame = await _json.NextOfTypeAsync("message");
            Assert.Equal("\"still here\"", message.BodyText);
            Assert.Equal(position.Offset, frame.GetProperty("offset").GetInt64());
        }

        public async ValueTask DisposeAsync()
        {
            await _stomp.DisposeAsync();
            await _json.DisposeAsync();
        }
    }
}

/// <summary>
/// STOMP heart-beats on the node's manual clock (docs/protocol.md, section 7.5): the server beats
/// at the negotiated interval, and ends a session that stays silent for the interval it
/// negotiated plus the pong timeout, or that never sends CONNECT.
/// </summary>
public sealed class StompHeartBeatTests : IAsyncLifetime
{
    private readonly ManualTimeProvider _time = new();
    private TestNode _node = null!;

    public async Task InitializeAsync() =>
        _node = await TestNode.StartAsync(host: h => h.Services.AddSingleton<TimeProvider>(_time));

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task The_server_beats_at_the_larger_of_its_interval_and_what_the_client_wants()
    {
        var (client, connected) = await StompClient.ConnectAsync(_node.WebSocketUri, heartBeat: "0,30000");
        await using var _client = client;

        _time.Advance(TimeSpan.FromSeconds(30));
        await client.WaitForHeartBeatAsync();
        // The client promised none, so its silence never ends the session.
        _time.Advance(TimeSpan.FromMinutes(10));
        await client.WaitForHeartBeatAsync();

        Assert.Equal("25000,25000", connected["heart-beat"]);
        Assert.True(_node.HasSession(connected["session"]!));
    }

    [Fact]
    public async Task A_client_silent_past_its_interval_and_the_margin_is_closed_and_one_that_beats_is_not()
    {
        var (silent, silentConnected) = await StompClient.ConnectAsync(_node.WebSocketUri, heartBeat: "1000,0");
        await using var _silent = silent;
        var (beating, beatingConnected) = await StompClient.ConnectAsync(_node.WebSocketUri, heartBeat: "1000,0");
        await using var _beating = beating;

        // Negotiated: the client beats every max(1 s, 25 s); the server waits 25 s + the 10 s pong timeout.
        for (var step = 0; step < 3; step++)
        {
            _time.Advance(TimeSpan.FromSeconds(11));
            await beating.SendAsync("\n");
            // A receipt proves the server read the beat before the clock moves on.
            await beating.SendAsync($"SUBSCRIBE\ndestination:chat/beat{step}\nid:{step}\nreceipt:{step}\n\n\0");
            await beating.ExpectAsync("RECEIPT");
        }
        // 33 s of silence: within 25 s + 10 s. The clock's timers run inside Advance, so this is settled.
        Assert.True(_node.HasSession(silentConnected["session"]!));
        _time.Advance(TimeSpan.FromSeconds(2));
        var error = await silent.ExpectAsync("ERROR");
        await silent.Closed.WithTimeout("the silent session to close");

        Assert.Equal("4002", error["x-disconnect-code"]);
        Assert.Equal("true", error["x-reconnect"]);
        Assert.Equal((WebSocketCloseStatus)4002, silent.CloseStatus);
        Assert.True(_node.HasSession(beatingConnected["session"]!));
    }

    [Fact]
    public async Task A_socket_that_never_sends_connect_is_closed_after_the_pong_timeout()
    {
        await using var client = await StompClient.OpenAsync(_node.WebSocketUri);
        await Timeouts.Until(() => _node.SessionCount == 1, "the session exists");

        _time.Advance(TimeSpan.FromSeconds(10));
        var error = await client.ExpectAsync("ERROR");
        await client.Closed.WithTimeout("the server to close");

        Assert.Equal("4002", error["x-disconnect-code"]);
    }
}
