using System.Net.WebSockets;
using System.Text.Json;

namespace PubSub.Server.Tests.Protocol;

/// <summary>
/// Every kind of bad input gets a clear error, and the session (and everyone else) carries on.
/// Each test ends by proving the session still works.
/// </summary>
public sealed class BadInputTests : IAsyncLifetime
{
    private TestNode _node = null!;
    private WsClient _client = null!;

    public async Task InitializeAsync()
    {
        _node = await TestNode.StartAsync(o =>
        {
            o.MaxMessageSize = 4096;
            o.MaxChannelLength = 40;
            o.MaxSubscriptionsPerSession = 3;
        });
        _client = await _node.ConnectAsync();
    }

    public async Task DisposeAsync()
    {
        await _client.DisposeAsync();
        await _node.DisposeAsync();
    }

    private static (string Code, string Message) ErrorOf(JsonElement frame)
    {
        var error = frame.GetProperty("type").GetString() == "reply" ? frame.GetProperty("error") : frame;
        return (error.GetProperty("code").GetString()!, error.GetProperty("message").GetString()!);
    }

    private async Task<(string Code, string Message)> SendExpectingErrorFrameAsync(string raw)
    {
        await _client.SendRawAsync(raw);
        var frame = await _client.NextAsync();
        Assert.Equal("error", frame.GetProperty("type").GetString());
        return ErrorOf(frame);
    }

    private async Task<(string Code, string Message)> RequestExpectingErrorAsync(Dictionary<string, object?> request)
    {
        var reply = await _client.RequestAsync(request);
        Assert.True(reply.TryGetProperty("error", out _), $"expected an error reply, got {reply}");
        return ErrorOf(reply);
    }

    [Theory]
    [InlineData("{\"type\":\"subscribe\",", "not valid JSON")]
    [InlineData("[1,2,3]", "JSON object")]
    [InlineData("\"subscribe\"", "JSON object")]
    [InlineData("{\"type\":\"ping\"} {\"type\":\"ping\"}", "exactly one JSON object")]
    [InlineData("{\"type\":\"ping\",\"id\":\"seven\"}", "'id'")]
    [InlineData("{\"type\":\"ping\",\"id\":-1}", "'id'")]
    public async Task A_malformed_frame_gets_an_error_frame_and_the_session_goes_on(string raw, string explanation)
    {
        var (code, message) = await SendExpectingErrorFrameAsync(raw);

        Assert.Equal("bad_request", code);
        Assert.Contains(explanation, message, StringComparison.Ordinal);
        await _client.PingAsync();
    }

    [Fact]
    public async Task A_frame_of_unknown_type_gets_an_error_reply_when_it_has_an_id_and_an_error_frame_otherwise()
    {
        var withId = await RequestExpectingErrorAsync(new() { ["type"] = "dance" });
        var withoutId = await SendExpectingErrorFrameAsync("{\"type\":\"dance\"}");

        Assert.Equal("unknown_type", withId.Code);
        Assert.Contains("dance", withId.Message, StringComparison.Ordinal);
        Assert.Equal("unknown_type", withoutId.Code);
        await _client.PingAsync();
    }

    [Theory]
    [InlineData("{\"channel\":\"chat/a\"}", "no 'type'")]
    [InlineData("{\"type\":\"subscribe\"}", "needs a 'channel'")]
    [InlineData("{\"type\":\"publish\",\"channel\":\"chat/a\"}", "needs 'data' or 'binary'")]
    [InlineData("{\"type\":\"publish\",\"channel\":\"chat/a\",\"data\":1,\"binary\":\"AA==\"}", "not both")]
    [InlineData("{\"type\":\"publish\",\"channel\":\"chat/a\",\"binary\":\"%%%\"}", "base64")]
    [InlineData("{\"type\":\"subscribe\",\"channel\":7}", "'channel' must be a string")]
    [InlineData("{\"type\":\"subscribe\",\"channel\":\"chat/a\",\"since\":{\"offset\":3}}", "'since'")]
    [InlineData("{\"type\":\"history\",\"channel\":\"chat/a\",\"limit\":0}", "'limit'")]
    public async Task A_frame_with_missing_or_ill_typed_fields_gets_bad_request_with_its_id(string raw, string explanation)
    {
        var frame = raw.Insert(1, "\"id\":42,");
        await _client.SendRawAsync(frame);
        var reply = await _client.NextAsync();

        Assert.Equal("reply", reply.GetProperty("type").GetString());
        Assert.Equal(42, reply.GetProperty("id").GetInt64());
        var (code, message) = ErrorOf(reply);
        Assert.Equal("bad_request", code);
        Assert.Contains(explanation, message, StringComparison.Ordinal);
        await _client.PingAsync();
    }

    [Fact]
    public async Task A_message_over_the_size_limit_is_discarded_with_an_error_and_the_session_goes_on()
    {
        await _client.SubscribeAsync("chat/big");
        var huge = JsonSerializer.Serialize(new { type = "publish", id = 1, channel = "chat/big", data = new string('x', 20_000) });

        var (code, message) = await SendExpectingErrorFrameAsync(huge);
        await _client.PublishAsync("chat/big", new { small = true });
        var delivered = await _client.NextOfTypeAsync("message");

        Assert.Equal("message_too_large", code);
        Assert.Contains("4096", message, StringComparison.Ordinal);
        Assert.True(delivered.GetProperty("data").GetProperty("small").GetBoolean());
        Assert.Equal(1, delivered.GetProperty("offset").GetInt64());
    }

    [Fact]
    public async Task A_binary_websocket_message_is_refused_with_an_error_and_the_session_goes_on()
    {
        await _client.SendRawAsync("{\"type\":\"ping\",\"id\":1}", WebSocketMessageType.Binary);
        var frame = await _client.NextAsync();

        Assert.Equal("error", frame.GetProperty("type").GetString());
        Assert.Equal("bad_request", frame.GetProperty("code").GetString());
        Assert.Contains("Binary messages", frame.GetProperty("message").GetString(), StringComparison.Ordinal);
        await _client.PingAsync();
    }

    [Theory]
    [InlineData("")]
    [InlineData("chat/has space")]
    [InlineData("chat/a,b")]
    [InlineData("chat/quote\"d")]
    [InlineData("chat/ünicode")]
    [InlineData("chat/this-name-is-longer-than-forty-characters")]
    public async Task An_invalid_channel_name_is_refused_with_invalid_channel(string channel)
    {
        var (code, _) = await RequestExpectingErrorAsync(new() { ["type"] = "subscribe", ["channel"] = channel });

        Assert.Equal("invalid_channel", code);
        await _client.PingAsync();
    }

    [Fact]
    public async Task A_channel_that_no_template_matches_is_refused_with_unknown_channel()
    {
        var subscribe = await RequestExpectingErrorAsync(new() { ["type"] = "subscribe", ["channel"] = "nowhere/x" });
        var publish = await RequestExpectingErrorAsync(new() { ["type"] = "publish", ["channel"] = "chat", ["data"] = 1 });

        Assert.Equal("unknown_channel", subscribe.Code);
        Assert.Contains("nowhere/x", subscribe.Message, StringComparison.Ordinal);
        Assert.Equal("unknown_channel", publish.Code);
        await _client.PingAsync();
    }

    [Fact]
    public async Task Subscribing_twice_is_refused_and_the_first_subscription_keeps_working()
    {
        await _client.SubscribeAsync("chat/twice");

        var (code, _) = await RequestExpectingErrorAsync(new() { ["type"] = "subscribe", ["channel"] = "chat/twice" });
        await _node.Publisher.PublishAsync("chat/twice", new { n = 1 });
        var message = await _client.NextOfTypeAsync("message");

        Assert.Equal("already_subscribed", code);
        Assert.Equal(1, message.GetProperty("offset").GetInt64());
    }

    [Fact]
    public async Task Unsubscribing_from_a_channel_not_subscribed_is_refused()
    {
        var (code, _) = await RequestExpectingErrorAsync(new() { ["type"] = "unsubscribe", ["channel"] = "chat/never" });

        Assert.Equal("not_subscribed", code);
        await _client.PingAsync();
    }

    [Fact]
    public async Task Publishing_where_clients_may_not_is_forbidden_and_nothing_is_published()
    {
        await _client.SubscribeAsync("news/world");

        var (code, message) = await RequestExpectingErrorAsync(new() { ["type"] = "publish", ["channel"] = "news/world", ["data"] = 1 });
        await _node.Publisher.PublishAsync("news/world", new { n = 1 });
        var delivered = await _client.NextOfTypeAsync("message");

        Assert.Equal("forbidden", code);
        Assert.Contains("may not publish", message, StringComparison.Ordinal);
        Assert.Equal(1, delivered.GetProperty("offset").GetInt64());
    }

    [Fact]
    public async Task Subscriptions_beyond_the_limit_are_refused_and_the_others_keep_working()
    {
        foreach (var room in new[] { "a", "b", "c" })
        {
            await _client.SubscribeAsync($"chat/{room}");
        }

        var (code, _) = await RequestExpectingErrorAsync(new() { ["type"] = "subscribe", ["channel"] = "chat/d" });
        await _client.RequestAsync(new() { ["type"] = "unsubscribe", ["channel"] = "chat/a" });
        var afterRoomWasFreed = await _client.SubscribeAsync("chat/d");

        Assert.Equal("too_many_subscriptions", code);
        Assert.Equal(0, afterRoomWasFreed.GetProperty("offset").GetInt64());
    }

    [Fact]
    public async Task History_from_another_epoch_is_refused_with_epoch_mismatch()
    {
        await _node.Publisher.PublishAsync("chat/h", new { n = 1 });

        var (code, _) = await RequestExpectingErrorAsync(new() { ["type"] = "history", ["channel"] = "chat/h", ["since"] = new { epoch = "gone", offset = 0 } });

        Assert.Equal("epoch_mismatch", code);
        await _client.PingAsync();
    }

    [Fact]
    public async Task In_a_batch_the_bad_frame_is_refused_and_the_good_ones_are_handled()
    {
        await _client.SendRawAsync("{\"type\":\"subscribe\",\"id\":1,\"channel\":\"chat/batch\"}\n{oops\n{\"type\":\"ping\",\"id\":2}\n");

        var first = await _client.NextAsync();
        var second = await _client.NextAsync();
        var third = await _client.NextAsync();

        Assert.Equal(1, first.GetProperty("id").GetInt64());
        Assert.True(first.TryGetProperty("result", out _));
        Assert.Equal("bad_request", ErrorOf(second).Code);
        Assert.Equal(2, third.GetProperty("id").GetInt64());
    }

    [Fact]
    public async Task Bad_input_on_one_session_does_not_disturb_another()
    {
        await using var other = await _node.ConnectAsync();
        await other.SubscribeAsync("chat/calm");

        await _client.SendRawAsync("{not json");
        await _client.SendRawAsync(new string('x', 10_000));
        await _node.Publisher.PublishAsync("chat/calm", new { n = 1 });

        Assert.Equal(1, (await other.NextOfTypeAsync("message")).GetProperty("offset").GetInt64());
        Assert.Equal(2, _node.SessionCount);
    }

    [Fact]
    public async Task Unknown_fields_are_ignored()
    {
        var reply = await _client.RequestAsync(new() { ["type"] = "subscribe", ["channel"] = "chat/extra", ["color"] = "blue", ["nested"] = new { a = 1 } });

        Assert.True(reply.TryGetProperty("result", out _));
    }
}
