using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace PubSub.Server.Tests.Transports;

public sealed class ServerSentEventsTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync() => _node = await TestNode.StartAsync();

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private static long Offset(SseEvent e) => e.Frame.GetProperty("offset").GetInt64();

    [Fact]
    public async Task The_stream_is_an_unbuffered_event_stream_that_starts_with_connected()
    {
        await using var sse = await SseClient.ConnectAsync(_node.BaseUri);

        Assert.Equal("text/event-stream", sse.ContentHeaders.ContentType?.MediaType);
        Assert.Equal("no", sse.Headers.GetValues("X-Accel-Buffering").Single());
        Assert.Contains("no-cache", sse.Headers.CacheControl!.ToString(), StringComparison.Ordinal);
        Assert.Equal("sse", sse.Connected.Frame.GetProperty("transport").GetString());
        Assert.Equal(_node.NodeId, sse.Connected.Frame.GetProperty("node").GetString());
        Assert.Equal(2000, sse.Retry);
        Assert.Equal("-", sse.Connected.Id);
    }

    [Fact]
    public async Task A_plain_event_source_subscribes_on_the_url_and_receives_messages_with_resume_cursors()
    {
        await using var sse = await SseClient.ConnectAsync(_node.BaseUri, "?channel=chat/a&channel=news/b");

        var first = await sse.NextAsync();
        var second = await sse.NextAsync();
        var position = await _node.Publisher.PublishAsync("chat/a", new { text = "hi" });
        var message = await sse.NextAsync();

        Assert.Equal(("subscribed", "chat/a"), (first.Type, first.Frame.GetProperty("channel").GetString()));
        Assert.Equal(("subscribed", "news/b"), (second.Type, second.Frame.GetProperty("channel").GetString()));
        var epochB = second.Frame.GetProperty("epoch").GetString();
        Assert.Equal("message", message.Type);
        Assert.Equal("hi", message.Frame.GetProperty("data").GetProperty("text").GetString());
        Assert.Equal($"{position.Epoch}:1:chat/a,{epochB}:0:news/b", message.Id);
    }

    [Fact]
    public async Task Frames_sent_through_send_are_answered_on_the_stream()
    {
        await using var sse = await SseClient.ConnectAsync(_node.BaseUri);

        var subscribe = await sse.SendAsync(new { type = "subscribe", id = 1, channel = "chat/send" });
        var subscribed = await sse.NextAsync();
        var publish = await sse.SendAsync(new { type = "publish", id = 2, channel = "chat/send", data = new { n = 1 } });
        var events = new[] { await sse.NextAsync(), await sse.NextAsync() };
        var unsubscribe = await sse.SendAsync(new { type = "unsubscribe", id = 3, channel = "chat/send" });
        var unsubscribed = await sse.NextAsync();

        Assert.Equal(HttpStatusCode.NoContent, subscribe);
        Assert.Equal(HttpStatusCode.NoContent, publish);
        Assert.Equal(HttpStatusCode.NoContent, unsubscribe);
        Assert.Equal(1, subscribed.Frame.GetProperty("id").GetInt64());
        var reply = events.Single(e => e.Type == "reply");
        var message = events.Single(e => e.Type == "message");
        Assert.Equal(2, reply.Frame.GetProperty("id").GetInt64());
        Assert.Equal(1, Offset(message));
        Assert.EndsWith(":1:chat/send", message.Id, StringComparison.Ordinal);
        Assert.Equal(3, unsubscribed.Frame.GetProperty("id").GetInt64());
        Assert.Equal("-", unsubscribed.Id);
    }

    [Fact]
    public async Task Reconnecting_with_the_last_event_id_resumes_every_channel_with_nothing_missed_or_doubled()
    {
        string cursor;
        await using (var first = await SseClient.ConnectAsync(_node.BaseUri, "?channel=chat/r1"))
        {
            await first.NextOfTypeAsync("subscribed");
            await first.SendAsync(new { type = "subscribe", id = 1, channel = "chat/r2" });
            await first.NextOfTypeAsync("reply");
            await _node.Publisher.PublishAsync("chat/r1", new { n = 1 });
            await _node.Publisher.PublishAsync("chat/r2", new { n = 1 });
            await first.MessagesAsync(2);
            cursor = first.LastEventId!;
        }
        await _node.Publisher.PublishAsync("chat/r1", new { n = 2 });
        await _node.Publisher.PublishAsync("chat/r2", new { n = 2 });
        await _node.Publisher.PublishAsync("chat/r2", new { n = 3 });

        // An EventSource reconnects to the same URL, adding the last id it saw.
        await using var second = await SseClient.ConnectAsync(_node.BaseUri, "?channel=chat/r1", lastEventId: cursor);
        var events = new List<SseEvent>();
        for (var i = 0; i < 5; i++)
        {
            events.Add(await second.NextAsync());
        }

        var subscribed = events.Where(e => e.Type == "subscribed").ToList();
        Assert.Equal(2, subscribed.Count);
        Assert.All(subscribed, s => Assert.True(s.Frame.GetProperty("recovered").GetBoolean()));
        var replayed = events.Where(e => e.Type == "message").Select(e => (e.Frame.GetProperty("channel").GetString(), Offset(e))).ToList();
        Assert.Equal([("chat/r1", 2L), ("chat/r2", 2L), ("chat/r2", 3L)], replayed.OrderBy(r => r.Item1).ThenBy(r => r.Item2));
        Assert.Contains(":2:chat/r1", events[^1].Id, StringComparison.Ordinal);
        Assert.Contains(":3:chat/r2", events[^1].Id, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_cursor_can_come_as_a_query_parameter_for_clients_that_cannot_set_headers()
    {
        var position = await _node.Publisher.PublishAsync("chat/q", new { n = 1 });
        await _node.Publisher.PublishAsync("chat/q", new { n = 2 });

        await using var sse = await SseClient.ConnectAsync(_node.BaseUri, $"?lastEventId={Uri.EscapeDataString($"{position.Epoch}:1:chat/q")}");
        var subscribed = await sse.NextAsync();
        var message = await sse.NextAsync();

        Assert.True(subscribed.Frame.GetProperty("recovered").GetBoolean());
        Assert.Equal(2, Offset(message));
    }

    [Fact]
    public async Task A_cursor_from_another_epoch_subscribes_with_recovered_false()
    {
        var position = await _node.Publisher.PublishAsync("chat/e", new { n = 1 });

        await using var sse = await SseClient.ConnectAsync(_node.BaseUri, lastEventId: "oldepoch:5:chat/e");
        var subscribed = await sse.NextAsync();

        Assert.False(subscribed.Frame.GetProperty("recovered").GetBoolean());
        Assert.Equal(position.Epoch, subscribed.Frame.GetProperty("epoch").GetString());
        Assert.Equal($"{position.Epoch}:1:chat/e", subscribed.Id);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("e:notanumber:chat/a")]
    [InlineData("e:1:")]
    [InlineData(":1:chat/a")]
    [InlineData("e:1:chat/a,e:2:chat/a")]
    public async Task A_garbage_last_event_id_is_refused_with_400(string cursor)
    {
        var (status, body, client) = await SseClient.TryConnectAsync(_node.BaseUri, lastEventId: cursor);

        Assert.Null(client);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("bad_request", body, StringComparison.Ordinal);
        Assert.Equal(0, _node.SessionCount);
    }

    [Fact]
    public async Task A_cursor_in_the_query_whose_epoch_would_break_the_id_line_is_refused_with_400()
    {
        await using var bystander = await SseClient.ConnectAsync(_node.BaseUri, "?channel=chat/q");
        await bystander.NextAsync();

        // %0A: a line break, which the Last-Event-ID header cannot carry but the parameter can.
        var (status, body, client) = await SseClient.TryConnectAsync(_node.BaseUri, "?lastEventId=e%0Adata%20x:1:chat/a");
        var position = await _node.Publisher.PublishAsync("chat/q", new { n = 1 });

        Assert.Null(client);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = JsonSerializer.Deserialize<JsonElement>(body).GetProperty("error");
        Assert.Equal("bad_request", error.GetProperty("code").GetString());
        Assert.Equal("The resume cursor's epochs are 1 to 64 printable ASCII characters.", error.GetProperty("message").GetString());
        Assert.Equal($"{position.Epoch}:1:chat/q", (await bystander.NextAsync()).Id);
    }

    [Theory]
    [InlineData("?channel=nowhere/x", HttpStatusCode.NotFound, "unknown_channel")]
    [InlineData("?channel=has%20space", HttpStatusCode.BadRequest, "invalid_channel")]
    [InlineData("?channel=chat/ok&channel=nowhere/x", HttpStatusCode.NotFound, "unknown_channel")]
    public async Task A_refused_channel_fails_the_request_before_the_stream_starts(string query, HttpStatusCode status, string code)
    {
        var (actual, body, client) = await SseClient.TryConnectAsync(_node.BaseUri, query);

        Assert.Null(client);
        Assert.Equal(status, actual);
        Assert.Equal(code, JsonSerializer.Deserialize<JsonElement>(body).GetProperty("error").GetProperty("code").GetString());
        await Timeouts.Until(() => _node.SessionCount == 0, "the refused session is gone");
    }

    [Fact]
    public async Task A_channel_refused_by_its_hook_fails_the_request_with_403()
    {
        await using var node = await TestNode.StartAsync(o => o.Channel("private/{x}", c => c.OnSubscribe(ctx => ctx.Reject("No."))));

        var (status, body, client) = await SseClient.TryConnectAsync(node.BaseUri, "?channel=private/a");

        Assert.Null(client);
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("No.", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ending_the_stream_ends_the_session_and_its_id_stops_working_for_send()
    {
        var sse = await SseClient.ConnectAsync(_node.BaseUri, "?channel=chat/end");
        var sessionId = sse.SessionId;
        await sse.DisposeAsync();

        await Timeouts.Until(() => !_node.HasSession(sessionId), "the session is gone");
        var status = await SseClient.SendToAsync(_node.Http, sessionId, [new { type = "ping", id = 1 }]);

        Assert.Equal(HttpStatusCode.NotFound, status);
    }

    [Fact]
    public async Task A_client_that_never_reads_is_disconnected_and_others_are_not_held_up()
    {
        await using var node = await TestNode.StartAsync(o =>
        {
            o.MaxMessageSize = 16 * 1024;
            o.OutboundBufferLimit = 64 * 1024;
        });
        await using var reader = await node.ConnectAsync();
        await reader.SubscribeAsync("news/flood");
        // A raw socket that asks for the stream and then never reads a byte.
        using var stalled = new System.Net.Sockets.TcpClient();
        await stalled.ConnectAsync(IPAddress.Loopback, node.BaseUri.Port);
        var request = $"GET /pubsub/sse?channel=news/flood HTTP/1.1\r\nHost: {node.BaseUri.Authority}\r\nAccept: text/event-stream\r\n\r\n";
        await stalled.GetStream().WriteAsync(System.Text.Encoding.ASCII.GetBytes(request));
        await Timeouts.Until(() => node.SessionCount == 2, "the stalled stream's session is open");

        var payload = new string('x', 8000);
        var published = 0;
        while (published < 4000 && node.SessionCount == 2)
        {
            for (var i = 0; i < 4; i++)
            {
                await node.Publisher.PublishAsync("news/flood", new { i = ++published, payload });
            }
            await reader.MessagesAsync(4);
        }

        Assert.Equal(1, node.SessionCount);
        Assert.True(published < 4000, "the stalled SSE session was never disconnected");
        await reader.PingAsync();
    }

    [Fact]
    public async Task An_idle_stream_gets_heartbeat_comments()
    {
        var time = new ManualTimeProvider();
        await using var node = await TestNode.StartAsync(host: h => h.Services.AddSingleton<TimeProvider>(time));
        await using var sse = await SseClient.ConnectAsync(node.BaseUri);

        // The writer may not be waiting yet when the clock moves; advance until a comment arrives.
        await Timeouts.Until(() =>
        {
            time.Advance(TimeSpan.FromSeconds(25));
            return sse.CommentsReceived > 0;
        }, "a heartbeat comment");
    }
}
