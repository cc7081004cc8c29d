using Microsoft.Extensions.DependencyInjection;

namespace PubSub.Cluster.Tests;

/// <summary>
/// An SSE stream resumed with Last-Event-ID while Redis stalls or is down: every event of the new
/// stream carries a cursor at least as far as the one it resumed from, so a stream that drops
/// again at any moment still resumes without loss, and a channel whose subscription fails for a
/// reason that passes keeps its place and is subscribed once Redis is back.
/// </summary>
public sealed class SseResumeTests : IAsyncLifetime
{
    private RedisServer _redis = null!;
    private TestNode _node = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync(persistent: true);
        _node = await TestNode.StartAsync(services: b => b.AddRedisBroker(o =>
        {
            o.Configuration = _redis.Configuration;
            o.OperationTimeout = TimeSpan.FromSeconds(1);
            o.ReconnectInterval = TimeSpan.FromMilliseconds(100);
        }));
    }

    public async Task DisposeAsync()
    {
        await _node.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private async Task<string> PublishAsync(string channel, int count)
    {
        var epoch = "";
        for (var n = 1; n <= count; n++)
        {
            epoch = (await _node.Publisher.PublishAsync(channel, new { n })).Epoch;
        }
        return epoch;
    }

    [Fact]
    public async Task A_stream_that_drops_while_its_resume_waits_for_a_stalled_redis_resumes_from_the_same_cursor()
    {
        var epoch = await PublishAsync("chat/resume", 4);
        var cursor = $"{epoch}:1:chat/resume";

        _redis.Pause();
        string? idWhenDropped;
        await using (var first = await SseClient.ConnectAsync(_node.BaseUri, lastEventId: cursor))
        {
            idWhenDropped = first.LastEventId;
        }
        _redis.Resume();
        await using var second = await SseClient.ConnectAsync(_node.BaseUri, lastEventId: idWhenDropped);
        var subscribed = await second.NextOfTypeAsync("subscribed");
        var messages = await second.MessagesAsync(3);

        // Before, the first events said '-' and the reconnect subscribed afresh, skipping 2 to 4.
        Assert.Equal(cursor, idWhenDropped);
        Assert.True(subscribed.Frame.GetProperty("recovered").GetBoolean());
        Assert.Equal([2L, 3, 4], messages.Select(m => m.Frame.GetProperty("offset").GetInt64()));
        Assert.Equal($"{epoch}:4:chat/resume", second.LastEventId);
    }

    [Fact]
    public async Task A_channel_that_cannot_be_subscribed_while_redis_is_down_keeps_its_place_and_is_subscribed_when_redis_is_back()
    {
        var epoch = await PublishAsync("chat/retry", 4);
        var cursor = $"{epoch}:1:chat/retry";

        await _redis.KillAsync();
        await using var sse = await SseClient.ConnectAsync(_node.BaseUri, lastEventId: cursor);
        await _redis.StartAgainAsync();
        var (subscribed, before) = await NextOfTypeAsync(sse, "subscribed");
        var messages = await sse.MessagesAsync(3);

        // Before, the failed subscribe sent 'unsubscribed' and dropped the channel from the cursor,
        // so a plain EventSource's next reconnect subscribed afresh and lost what history held.
        Assert.DoesNotContain(before, e => e.Type == "unsubscribed");
        Assert.All(before, e => Assert.Equal(cursor, e.Id));
        Assert.True(subscribed.Frame.GetProperty("recovered").GetBoolean());
        Assert.Equal([2L, 3, 4], messages.Select(m => m.Frame.GetProperty("offset").GetInt64()));
    }

    private static async Task<(SseEvent Match, List<SseEvent> Before)> NextOfTypeAsync(SseClient client, string type)
    {
        var before = new List<SseEvent> { client.Connected };
        while (true)
        {
            var next = await client.NextAsync();
            if (next.Type == type)
            {
                return (next, before);
            }
            before.Add(next);
        }
    }
}
