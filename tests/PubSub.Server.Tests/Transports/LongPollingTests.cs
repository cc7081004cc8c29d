using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace PubSub.Server.Tests.Transports;

public sealed class LongPollingTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync() => _node = await TestNode.StartAsync();

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private static long Offset(JsonElement frame) => frame.GetProperty("offset").GetInt64();

    private static string Type(JsonElement frame) => frame.GetProperty("type").GetString()!;

    [Fact]
    public async Task The_first_poll_opens_a_session_and_answers_at_once_with_connected()
    {
        using var poll = await PollClient.OpenAsync(_node.BaseUri);

        Assert.Equal("long-polling", poll.Connected.GetProperty("transport").GetString());
        Assert.Equal(0, poll.Connected.GetProperty("ping").GetInt32());
        Assert.Equal(1, poll.Received);
    }

    [Fact]
    public async Task A_client_subscribes_publishes_receives_and_unsubscribes()
    {
        using var poll = await PollClient.OpenAsync(_node.BaseUri);

        Assert.Equal(HttpStatusCode.NoContent, await poll.SendAsync(new { type = "subscribe", id = 1, channel = "chat/p" }));
        var subscribed = await poll.NextAsync();
        Assert.Equal(HttpStatusCode.NoContent, await poll.SendAsync(new { type = "publish", id = 2, channel = "chat/p", data = new { n = 1 } }));
        var next = new[] { await poll.NextAsync(), await poll.NextAsync() };
        Assert.Equal(HttpStatusCode.NoContent, await poll.SendAsync(new { type = "unsubscribe", id = 3, channel = "chat/p" }));
        var unsubscribed = await poll.NextAsync();
        await _node.Publisher.PublishAsync("chat/p", new { n = 2 });
        Assert.Equal(HttpStatusCode.NoContent, await poll.SendAsync(new { type = "ping", id = 4 }));
        var afterUnsubscribe = await poll.NextAsync();

        Assert.Equal(1, subscribed.GetProperty("id").GetInt64());
        Assert.Equal(1, Offset(next.Single(f => Type(f) == "message")));
        Assert.Equal(2, next.Single(f => Type(f) == "reply").GetProperty("id").GetInt64());
        Assert.Equal(3, unsubscribed.GetProperty("id").GetInt64());
        Assert.Equal(4, afterUnsubscribe.GetProperty("id").GetInt64());
    }

    [Fact]
    public async Task Several_waiting_frames_come_in_one_response()
    {
        using var poll = await PollClient.OpenAsync(_node.BaseUri, "?channel=news/batch");
        await poll.NextOfTypeAsync("subscribed");
        for (var i = 1; i <= 5; i++)
        {
            await _node.Publisher.PublishAsync("news/batch", new { i });
        }

        var frames = await poll.PollAsync();

        Assert.Equal([1L, 2, 3, 4, 5], frames.Select(Offset));
    }

    [Fact]
    public async Task A_lost_response_is_sent_again_by_the_next_poll_and_nothing_is_doubled()
    {
        using var poll = await PollClient.OpenAsync(_node.BaseUri, "?channel=news/lost");
        await poll.NextOfTypeAsync("subscribed");
        var ackBefore = poll.Received;
        await _node.Publisher.PublishAsync("news/lost", new { i = 1 });
        await _node.Publisher.PublishAsync("news/lost", new { i = 2 });

        // This response "is lost": the client never processes it, so its ack does not move.
        var (status, lostBody) = await poll.RawPollAsync(ackBefore);
        await _node.Publisher.PublishAsync("news/lost", new { i = 3 });
        var resent = await poll.PollAsync();
        await _node.Publisher.PublishAsync("news/lost", new { i = 4 });
        var next = await poll.PollAsync();

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(2, lostBody.Split('\n').Length);
        Assert.Equal([1L, 2, 3], resent.Select(Offset));
        Assert.Equal([4L], next.Select(Offset));
    }

    [Fact]
    public async Task A_late_superseded_response_is_recognised_by_counting()
    {
        using var poll = await PollClient.OpenAsync(_node.BaseUri, "?channel=news/late");
        await poll.NextOfTypeAsync("subscribed");
        var ack = poll.Received;
        await _node.Publisher.PublishAsync("news/late", new { i = 1 });
        var (_, first) = await poll.RawPollAsync(ack);
        var (_, again) = await poll.RawPollAsync(ack);

        var fresh = poll.Accept(ack, first);
        var repeated = poll.Accept(ack, again);

        Assert.Equal(first, again);
        Assert.Single(fresh);
        Assert.Empty(repeated);
    }

    [Fact]
    public async Task A_poll_with_nothing_waiting_is_held_and_answered_when_a_frame_arrives()
    {
        using var poll = await PollClient.OpenAsync(_node.BaseUri, "?channel=news/held");
        await poll.NextOfTypeAsync("subscribed");

        var held = poll.PollAsync();
        await Timeouts.Until(() => _node.IsPollHeld(poll.SessionId), "the server to hold the poll");
        await _node.Publisher.PublishAsync("news/held", new { i = 1 });

        Assert.Equal([1L], (await held.WithTimeout("the held poll")).Select(Offset));
    }

    [Fact]
    public async Task A_held_poll_returns_empty_after_the_poll_timeout()
    {
        var time = new ManualTimeProvider();
        await using var node = await TestNode.StartAsync(host: h => h.Services.AddSingleton<TimeProvider>(time));
        using var poll = await PollClient.OpenAsync(node.BaseUri);

        var held = poll.RawPollAsync(poll.Received);
        await Timeouts.Until(() =>
        {
            time.Advance(TimeSpan.FromSeconds(5));
            return held.IsCompleted;
        }, "the poll to time out");
        var (status, body) = await held;

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("", body);
    }

    [Fact]
    public async Task Of_two_concurrent_polls_the_older_is_answered_empty_at_once()
    {
        using var poll = await PollClient.OpenAsync(_node.BaseUri, "?channel=news/two");
        await poll.NextOfTypeAsync("subscribed");
        var ack = poll.Received;

        var older = poll.RawPollAsync(ack);
        await Timeouts.Until(() => _node.IsPollHeld(poll.SessionId), "the server to hold the first poll");
        var newer = poll.RawPollAsync(ack);
        var (olderStatus, olderBody) = await older.WithTimeout("the older poll to be answered");
        await Timeouts.Until(() => _node.IsPollHeld(poll.SessionId), "the server to hold the second poll");
        await _node.Publisher.PublishAsync("news/two", new { i = 1 });
        var (newerStatus, newerBody) = await newer.WithTimeout("the newer poll");

        Assert.Equal(HttpStatusCode.OK, olderStatus);
        Assert.Equal("", olderBody);
        Assert.Equal(HttpStatusCode.OK, newerStatus);
        Assert.Contains("\"message\"", newerBody, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ack=abc")]
    [InlineData("ack=-1")]
    [InlineData("ack=")]
    [InlineData("")]
    public async Task A_malformed_ack_is_refused_with_400(string ackPart)
    {
        using var poll = await PollClient.OpenAsync(_node.BaseUri);

        using var response = await _node.Http.GetAsync($"pubsub/poll?session={poll.SessionId}&{ackPart}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("bad_request", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_ack_beyond_what_was_sent_or_going_backwards_is_refused_and_the_session_is_unchanged()
    {
        using var poll = await PollClient.OpenAsync(_node.BaseUri, "?channel=news/acks");
        await poll.NextOfTypeAsync("subscribed");
        await _node.Publisher.PublishAsync("news/acks", new { i = 1 });
        await poll.NextOfTypeAsync("message");
        // The poll that fetches this reply acknowledges everything before it.
        await poll.SendAsync(new { type = "ping", id = 1 });
        await poll.NextOfTypeAsync("reply");

        var ahead = await poll.RawPollAsync(poll.Received + 5);
        var backwards = await poll.RawPollAsync(1);
        await _node.Publisher.PublishAsync("news/acks", new { i = 2 });
        var message = await poll.NextOfTypeAsync("message");

        Assert.Equal(HttpStatusCode.BadRequest, ahead.Status);
        Assert.Contains("'ack'", ahead.Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, backwards.Status);
        Assert.Equal(2, Offset(message));
    }

    [Fact]
    public async Task A_session_whose_polls_stop_is_closed_after_the_grace_period_and_its_subscriptions_released()
    {
        var time = new ManualTimeProvider();
        var released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var node = await TestNode.StartAsync(
            o => o.Channel("grace/{x}", c => c.OnUnsubscribe(_ => { released.TrySetResult(); })),
            host: h => h.Services.AddSingleton<TimeProvider>(time));
        using var poll = await PollClient.OpenAsync(node.BaseUri);
        await poll.SendAsync(new { type = "subscribe", id = 1, channel = "grace/a" });

        time.Advance(TimeSpan.FromSeconds(15));
        Assert.True(node.HasSession(poll.SessionId));
        time.Advance(TimeSpan.FromSeconds(10));
        await Timeouts.Until(() => !node.HasSession(poll.SessionId), "the session to close");
        var (status, body) = await poll.RawPollAsync(poll.Received);

        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("session_not_found", body, StringComparison.Ordinal);
        // Its channel lingers, then the node lets go of it. The subscriptions of a closed session are released
        // on the thread pool, and the hook runs once the linger has started: only then may the clock move past it.
        await released.Task.WithTimeout("the session's subscription to be released");
        time.Advance(TimeSpan.FromSeconds(3));
        Assert.False(node.Services.GetRequiredService<PubSub.Channels.ChannelHub>().HasLocalChannel("grace/a"));
    }

    [Fact]
    public async Task A_closed_session_delivers_its_disconnect_frame_and_then_is_gone()
    {
        using var poll = await PollClient.OpenAsync(_node.BaseUri);

        _node.CloseSession(poll.SessionId);
        var disconnect = await poll.NextAsync();
        var (status, body) = await poll.RawPollAsync(poll.Received);

        Assert.Equal("disconnect", Type(disconnect));
        Assert.Equal(4003, disconnect.GetProperty("code").GetInt32());
        Assert.True(disconnect.GetProperty("reconnect").GetBoolean());
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("session_not_found", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_new_session_recovers_what_the_old_one_missed()
    {
        using var first = await PollClient.OpenAsync(_node.BaseUri, "?channel=chat/recover");
        var subscribed = await first.NextOfTypeAsync("subscribed");
        await _node.Publisher.PublishAsync("chat/recover", new { i = 1 });
        var seen = await first.NextOfTypeAsync("message");
        await _node.Publisher.PublishAsync("chat/recover", new { i = 2 });
        await _node.Publisher.PublishAsync("chat/recover", new { i = 3 });

        using var second = await PollClient.OpenAsync(_node.BaseUri);
        await second.SendAsync(new { type = "subscribe", id = 1, channel = "chat/recover", since = new { epoch = seen.GetProperty("epoch").GetString(), offset = 1 } });
        var reply = await second.NextAsync();
        var replayed = await second.MessagesAsync(2);

        Assert.Equal(subscribed.GetProperty("epoch").GetString(), seen.GetProperty("epoch").GetString());
        Assert.True(reply.GetProperty("result").GetProperty("recovered").GetBoolean());
        Assert.Equal([2L, 3], replayed.Select(Offset));
    }
}
