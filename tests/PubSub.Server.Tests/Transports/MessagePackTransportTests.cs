using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using PubSub.Server.Tests.Protocol;

namespace PubSub.Server.Tests.Transports;

/// <summary>
/// The MessagePack encoding on real nodes (docs/protocol.md, section 6.3): every transport and
/// encoding that exists, on one node and across two; how it is chosen and refused; bad input over
/// the wire; and the fan-out building a publication's frame once per encoding.
/// </summary>
public sealed class MessagePackTransportTests : IAsyncLifetime
{
    private readonly MemoryBackplane _backplane = new();
    private TestNode _node = null!;
    private TestNode _other = null!;

    public static TheoryData<string, string> InvalidClientFrames => ProtocolVectors.Cases("frames/msgpack.json", "clientInvalid");

    public static TheoryData<string> Kinds => EncodedPeer.AllKinds;

    public async Task InitializeAsync()
    {
        // Room for the vector nested 100,000 deep, which must be refused for its depth, not its size.
        _node = await TestNode.StartAsync(o => o.MaxMessageSize = 512 * 1024, services: b => b.AddMemoryBroker(_backplane));
        _other = await TestNode.StartAsync(services: b => b.AddMemoryBroker(_backplane));
    }

    public async Task DisposeAsync()
    {
        await _node.DisposeAsync();
        await _other.DisposeAsync();
        _backplane.Dispose();
    }

    private static string Channel(string kind) => $"chat/mp-{kind.Replace('/', '-')}-{Guid.NewGuid():N}";

    [Theory]
    [MemberData(nameof(Kinds))]
    public Task Every_transport_and_encoding_subscribes_publishes_reads_history_and_recovers(string kind) =>
        EncodingScenarios.SubscribePublishHistoryAndRecoverAsync(_node, _node, kind, Channel(kind));

    [Theory]
    [MemberData(nameof(Kinds))]
    public Task Every_transport_and_encoding_recovers_on_another_node(string kind) =>
        EncodingScenarios.SubscribePublishHistoryAndRecoverAsync(_node, _other, kind, Channel(kind));

    [Fact]
    public Task Subscribers_of_every_encoding_on_one_channel_receive_the_same_publications_in_the_same_order() =>
        EncodingScenarios.MixedEncodingsReceiveTheSameAsync([_node], Channel("mixed"));

    [Fact]
    public Task Subscribers_of_every_encoding_on_two_nodes_receive_the_same_publications_in_the_same_order() =>
        EncodingScenarios.MixedEncodingsReceiveTheSameAsync([_node, _other], Channel("mixed2"));

    [Theory]
    [MemberData(nameof(InvalidClientFrames))]
    public async Task A_refused_frame_over_a_websocket_gets_its_code_and_the_session_and_others_go_on(string name, string vector)
    {
        var entry = JsonSerializer.Deserialize<JsonElement>(vector);
        await using var client = await WsClient.ConnectAsync(_node.WebSocketUri, MessagePackFrames.Subprotocol);
        await using var bystander = await WsClient.ConnectAsync(_node.WebSocketUri, MessagePackFrames.Subprotocol);

        await client.SendBytesAsync(MessagePackVectorTests.BytesOf(entry));
        var answer = await client.NextAsync();

        if (entry.TryGetProperty("id", out var id))
        {
            Assert.True(answer.GetProperty("type").GetString() == "reply" && answer.GetProperty("id").GetInt64() == id.GetInt64(), $"{name}: {answer}");
            Assert.Equal(entry.GetProperty("code").GetString(), answer.GetProperty("error").GetProperty("code").GetString());
        }
        else
        {
            Assert.True(answer.GetProperty("type").GetString() == "error", $"{name}: {answer}");
            Assert.Equal(entry.GetProperty("code").GetString(), answer.GetProperty("code").GetString());
        }
        await client.PingAsync();
        await bystander.PingAsync();
        Assert.True(_node.HasSession(client.SessionId));
    }

    [Fact]
    public async Task The_subprotocol_chosen_is_the_first_of_the_clients_list_the_server_speaks()
    {
        async Task<string?> Chosen(params string[] offered)
        {
            using var socket = new ClientWebSocket();
            foreach (var subprotocol in offered)
            {
                socket.Options.AddSubProtocol(subprotocol);
            }
            await socket.ConnectAsync(_node.WebSocketUri, CancellationToken.None).WithTimeout("the handshake");
            var buffer = new byte[4096];
            var first = await socket.ReceiveAsync(buffer, CancellationToken.None).WithTimeout("connected");
            Assert.Equal(socket.SubProtocol == MessagePackFrames.Subprotocol ? WebSocketMessageType.Binary : WebSocketMessageType.Text, first.MessageType);
            socket.Abort();
            return socket.SubProtocol;
        }

        Assert.Equal(MessagePackFrames.Subprotocol, await Chosen(MessagePackFrames.Subprotocol, "pubsub.json"));
        Assert.Equal("pubsub.json", await Chosen("pubsub.json", MessagePackFrames.Subprotocol));
        Assert.Equal(MessagePackFrames.Subprotocol, await Chosen("pubsub.future", MessagePackFrames.Subprotocol));
        using var refused = new ClientWebSocket();
        refused.Options.AddSubProtocol("pubsub.future");
        refused.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() => refused.ConnectAsync(_node.WebSocketUri, CancellationToken.None).WithTimeout("the refused handshake"));
        Assert.Equal(HttpStatusCode.BadRequest, refused.HttpStatusCode);
    }

    [Fact]
    public async Task A_text_message_on_pubsub_msgpack_gets_a_bad_request_error_in_messagepack_and_the_session_goes_on()
    {
        await using var client = await WsClient.ConnectAsync(_node.WebSocketUri, MessagePackFrames.Subprotocol);

        await client.SendRawAsync("""{"type":"ping","id":1}""");
        var error = await client.NextAsync();

        Assert.Equal("error", error.GetProperty("type").GetString());
        Assert.Equal(PubSubErrorCodes.BadRequest, error.GetProperty("code").GetString());
        await client.PingAsync();
    }

    [Theory]
    [InlineData("str", "81a474797065dbffffffff")]
    [InlineData("bin", "84a474797065a77075626c697368a2696401a76368616e6e656ca163a662696e617279c6ffffffff")]
    [InlineData("array", "84a474797065a77075626c697368a2696401a76368616e6e656ca163a464617461ddffffffff")]
    [InlineData("map", "84a474797065a77075626c697368a2696401a76368616e6e656ca163a464617461dfffffffff")]
    public async Task A_length_prefix_of_2_to_the_32_minus_1_is_refused_without_allocating_it(string kind, string hex)
    {
        await using var client = await WsClient.ConnectAsync(_node.WebSocketUri, MessagePackFrames.Subprotocol);
        var allocated = GC.GetTotalAllocatedBytes();

        await client.SendBytesAsync([.. Convert.FromHexString(hex), .. Encoding.ASCII.GetBytes("ping")]);
        var error = await client.NextAsync();

        Assert.True(error.GetProperty("type").GetString() == "error" && error.GetProperty("code").GetString() == PubSubErrorCodes.BadRequest, $"{kind}: {error}");
        // Other tests allocate meanwhile; a 4 GiB buffer would be far beyond this.
        Assert.True(GC.GetTotalAllocatedBytes() - allocated < 512L * 1024 * 1024, $"{kind}: {GC.GetTotalAllocatedBytes() - allocated} bytes allocated");
        await client.PingAsync();
    }

    [Fact]
    public async Task A_map_nested_100000_deep_is_refused_and_the_session_goes_on()
    {
        await using var client = await WsClient.ConnectAsync(_node.WebSocketUri, MessagePackFrames.Subprotocol);
        // {"type":"publish","id":1,"channel":"chat/deep","data":{"x":{"x":...null}}}
        var frame = new List<byte>(Convert.FromHexString("84a474797065a77075626c697368a2696401a76368616e6e656ca9636861742f64656570a464617461"));
        for (var i = 0; i < 100_000; i++)
        {
            frame.AddRange([0x81, 0xa1, (byte)'x']);
        }
        frame.Add(0xc0);

        await client.SendBytesAsync([.. frame]);
        var error = await client.NextAsync();

        Assert.True(error.GetProperty("type").GetString() == "error" && error.GetProperty("code").GetString() == PubSubErrorCodes.BadRequest, error.ToString());
        await client.PingAsync();
    }

    [Fact]
    public async Task Long_polling_keeps_the_encoding_it_was_opened_with_also_when_a_poll_is_forwarded()
    {
        using var client = await PollClient.OpenAsync(_node.BaseUri, "?encoding=msgpack");
        using var elsewhere = new HttpClient { BaseAddress = _other.BaseUri, Timeout = Timeouts.Default };
        var session = Uri.EscapeDataString(client.SessionId);

        foreach (var via in new[] { client.Http, elsewhere })
        {
            using var json = await via.GetAsync($"pubsub/poll?session={session}&ack=1&encoding=json");
            Assert.Equal(HttpStatusCode.BadRequest, json.StatusCode);
            Assert.Contains("msgpack", await json.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            using var unknown = await via.GetAsync($"pubsub/poll?session={session}&ack=1&encoding=cbor");
            Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        }

        // A forwarded poll that names the session's encoding, and one that names none, both work.
        client.Via = elsewhere;
        Assert.Equal(HttpStatusCode.NoContent, await client.SendAsync(new { type = "ping", id = 7 }));
        var reply = await client.NextOfTypeAsync("reply");
        Assert.Equal(7, reply.GetProperty("id").GetInt64());
        Assert.Equal(HttpStatusCode.NoContent, await client.SendAsync(new { type = "ping", id = 8 }));
        using var named = await elsewhere.GetAsync($"pubsub/poll?session={session}&ack={client.Received}&encoding=msgpack");
        Assert.Equal(HttpStatusCode.OK, named.StatusCode);
        Assert.Equal(MessagePackFrames.ContentType, named.Content.Headers.ContentType?.MediaType);
        Assert.Equal(8, MessagePackFrames.Decode(await named.Content.ReadAsByteArrayAsync()).Single(f => f.GetProperty("type").GetString() == "reply").GetProperty("id").GetInt64());
    }

    [Theory]
    [InlineData("pubsub/poll?encoding=cbor")]
    [InlineData("pubsub/poll?encoding=")]
    [InlineData("pubsub/sse?encoding=cbor")]
    public async Task An_unknown_encoding_is_a_bad_request(string path)
    {
        using var response = await _node.Http.GetAsync(path);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("bad_request", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0, _node.SessionCount);
    }

    [Fact]
    public async Task Sse_with_encoding_msgpack_is_a_bad_request_that_says_sse_is_text_only()
    {
        using var response = await _node.Http.GetAsync("pubsub/sse?encoding=msgpack");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("text only", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await using var json = await SseClient.ConnectAsync(_node.BaseUri, "?encoding=json");
    }

    [Fact]
    public async Task Send_reads_the_body_by_its_content_type_for_a_session_of_either_encoding()
    {
        using var jsonSession = await PollClient.OpenAsync(_node.BaseUri);
        using var msgpackSession = await PollClient.OpenAsync(_node.BaseUri, "?encoding=msgpack");
        var ping = MessagePackFrames.Encode(new { type = "ping", id = 11 });

        foreach (var client in new[] { jsonSession, msgpackSession })
        {
            Assert.Equal(HttpStatusCode.NoContent, await client.SendBodyAsync(ping, MessagePackFrames.ContentType));
            Assert.Equal(11, (await client.NextOfTypeAsync("reply")).GetProperty("id").GetInt64());
            Assert.Equal(HttpStatusCode.NoContent, await client.SendBodyAsync("""{"type":"ping","id":12}"""u8.ToArray(), "text/plain"));
            Assert.Equal(12, (await client.NextOfTypeAsync("reply")).GetProperty("id").GetInt64());
        }
    }

    [Fact]
    public async Task A_msgpack_body_sent_as_json_is_read_as_json_and_answered_with_bad_request_errors()
    {
        using var client = await PollClient.OpenAsync(_node.BaseUri, "?encoding=msgpack");
        var body = MessagePackFrames.Encode(new { type = "publish", id = 13, channel = "chat/mislabelled", data = new { text = "hi" } });

        Assert.Equal(HttpStatusCode.NoContent, await client.SendBodyAsync(body, "application/json"));
        var error = await client.NextOfTypeAsync("error");

        Assert.Equal(PubSubErrorCodes.BadRequest, error.GetProperty("code").GetString());
        Assert.Contains("JSON", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        // Nothing of it was published, and the session goes on.
        Assert.Equal(HttpStatusCode.NoContent, await client.SendAsync(new { type = "history", id = 14, channel = "chat/mislabelled" }));
        var history = await client.NextOfTypeAsync("reply", "error");
        Assert.Equal(0, history.GetProperty("result").GetProperty("publications").GetArrayLength());
    }

    [Fact]
    public async Task A_publications_messagepack_frame_is_built_once_per_node_for_many_subscribers_and_not_at_all_without_one()
    {
        using var built = _node.CollectMetric<long>("pubsub.fanout.frames");
        long Built(string encoding) => built.GetMeasurementSnapshot().Where(m => (string?)m.Tags["pubsub.encoding"] == encoding).Sum(m => m.Value);
        var jsonOnly = Channel("json-only");
        var both = Channel("both");
        var clients = new List<WsClient>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                clients.Add(await _node.ConnectAsync());
                await clients[^1].SubscribeAsync(jsonOnly);
            }
            await _node.Publisher.PublishAsync(jsonOnly, new { n = 1 });
            await _node.Publisher.PublishAsync(jsonOnly, new { n = 2 });
            foreach (var client in clients)
            {
                await client.MessagesAsync(2);
            }
            Assert.Equal(2, Built("json"));
            Assert.Equal(0, Built("msgpack"));

            var msgpack = new List<WsClient>();
            for (var i = 0; i < 10; i++)
            {
                msgpack.Add(await WsClient.ConnectAsync(_node.WebSocketUri, MessagePackFrames.Subprotocol));
                clients.Add(msgpack[^1]);
                await msgpack[^1].SubscribeAsync(both);
            }
            await clients[0].SubscribeAsync(both);
            for (var n = 0; n < 3; n++)
            {
                await _node.Publisher.PublishAsync(both, new { n });
            }
            foreach (var client in msgpack)
            {
                Assert.Equal([0, 1, 2], (await client.MessagesAsync(3)).Select(m => m.GetProperty("data").GetProperty("n").GetInt32()));
            }
            await clients[0].MessagesAsync(3);

            Assert.Equal(3, Built("msgpack"));
            Assert.Equal(2 + 3, Built("json"));
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }
}
