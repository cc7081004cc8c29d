using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using PubSub.Brokers;
using PubSub.Sessions;

namespace PubSub.Server.Tests.Sessions;

/// <summary>
/// A session's publishes are issued in frame order without waiting for each answer, so a broker
/// with a round trip pipelines them; replies come when the answers do.
/// </summary>
public sealed class PublishPipeliningTests
{
    [Fact]
    public async Task Publishes_of_one_session_are_in_flight_together_and_keep_their_order()
    {
        var broker = new HoldingBroker();
        await using var node = await TestNode.StartAsync(services: b => b.Services.Replace(ServiceDescriptor.Singleton<IBroker>(broker)));
        await using var subscriber = await node.ConnectAsync();
        await subscriber.SubscribeAsync("chat/pipe");
        await using var publisher = await node.ConnectAsync();

        var batch = Batch(10, "chat/pipe", i => new { i });
        await publisher.SendRawAsync(batch);
        await Timeouts.Until(() => broker.Held == 10, "all ten publishes to reach the broker before any is answered");
        broker.ReleaseAll();

        var replies = new List<JsonElement>();
        for (var i = 0; i < 10; i++)
        {
            replies.Add(await publisher.NextOfTypeAsync("reply"));
        }
        var messages = await subscriber.MessagesAsync(10);
        Assert.Equal(Enumerable.Range(1, 10), replies.Select(r => (int)r.GetProperty("id").GetInt64()).Order());
        Assert.All(replies, r => Assert.True(r.TryGetProperty("result", out _)));
        Assert.Equal(Enumerable.Range(1, 10), messages.Select(m => m.GetProperty("data").GetProperty("i").GetInt32()));
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), messages.Select(m => m.GetProperty("offset").GetInt64()));
    }

    [Fact]
    public async Task No_more_than_the_window_waits_for_the_broker_at_once()
    {
        var broker = new HoldingBroker();
        await using var node = await TestNode.StartAsync(services: b => b.Services.Replace(ServiceDescriptor.Singleton<IBroker>(broker)));
        await using var publisher = await node.ConnectAsync();
        var count = Session.PublishWindow + 20;

        var batch = Batch(count, "chat/window", i => i);
        await publisher.SendRawAsync(batch);
        await Timeouts.Until(() => broker.Held == Session.PublishWindow, "the window to fill");
        Assert.Equal(Session.PublishWindow, broker.Held);
        broker.Release(1);
        await Timeouts.Until(() => broker.Held == Session.PublishWindow && broker.Issued == Session.PublishWindow + 1, "one more to enter as one leaves");
        broker.ReleaseAll(keepReleasing: true);

        var replies = new List<JsonElement>();
        for (var i = 0; i < count; i++)
        {
            replies.Add(await publisher.NextOfTypeAsync("reply"));
        }
        await Timeouts.Until(() => FreeSlots(node, publisher) == Session.PublishWindow, "every slot to be given back");
        Assert.Equal(count, replies.Select(r => r.GetProperty("id").GetInt64()).Distinct().Count());
    }

    [Fact]
    public async Task Publishes_that_fail_at_the_broker_get_their_error_replies_give_back_their_slots_and_the_others_go_through()
    {
        // Every other publish fails, more than a window's worth: a slot kept by a failure would stall the rest.
        var broker = new HoldingBroker { Fails = offset => offset % 2 == 0 };
        await using var node = await TestNode.StartAsync(services: b => b.Services.Replace(ServiceDescriptor.Singleton<IBroker>(broker)));
        await using var publisher = await node.ConnectAsync();
        broker.ReleaseAll(keepReleasing: true);
        var count = Session.PublishWindow * 3;

        await publisher.SendRawAsync(Batch(count, "chat/fail", i => i));
        var replies = new Dictionary<long, JsonElement>();
        for (var i = 0; i < count; i++)
        {
            var reply = await publisher.NextOfTypeAsync("reply");
            replies[reply.GetProperty("id").GetInt64()] = reply;
        }
        await Timeouts.Until(() => FreeSlots(node, publisher) == Session.PublishWindow, "every slot to be given back");

        Assert.Equal(count, replies.Count);
        Assert.All(replies.Where(r => r.Key % 2 == 1), r => Assert.True(r.Value.TryGetProperty("result", out _)));
        Assert.All(replies.Where(r => r.Key % 2 == 0), r => Assert.Equal("unavailable", r.Value.GetProperty("error").GetProperty("code").GetString()));
    }

    [Fact]
    public async Task Publishes_in_flight_when_the_session_closes_are_carried_through_quietly()
    {
        var broker = new HoldingBroker();
        var logs = new LogRecorder();
        await using var node = await TestNode.StartAsync(
            services: b => b.Services.Replace(ServiceDescriptor.Singleton<IBroker>(broker)),
            host: h => logs.AddTo(h.Logging));
        var publisher = await node.ConnectAsync();
        await publisher.SendRawAsync(Batch(3, "chat/quiet", i => i));
        await Timeouts.Until(() => broker.Held == 3, "the publishes to wait for the broker");

        await publisher.CloseAsync();
        await Timeouts.Until(() => node.SessionCount == 0, "the session to close");
        broker.ReleaseAll(keepReleasing: true);

        // The broker honours cancellation: had the session's close cancelled them, none would complete.
        await Timeouts.Until(() => broker.Completed == 3, "the three publishes to complete");
        Assert.Empty(logs.Errors);
    }

    private static int FreeSlots(TestNode node, WsClient client) =>
        node.Services.GetRequiredService<PubSub.Sessions.SessionRegistry>().Find(client.SessionId)!.PublishSlots.CurrentCount;

    /// <summary>Publish frames 1..count, ids 1..count, as one batch: sent without waiting for any reply.</summary>
    private static string Batch(int count, string channel, Func<int, object> data) =>
        string.Join('\n', Enumerable.Range(1, count).Select(i => JsonSerializer.Serialize(new { type = "publish", id = i, channel, data = data(i) })));

    /// <summary>
    /// A memory broker whose publishes take effect at once (in call order, as Redis keeps the order
    /// of commands) but whose answers the test releases, as a broker with a round trip would.
    /// </summary>
    private sealed class HoldingBroker : MemoryBrokerDecorator
    {
        private readonly ConcurrentQueue<(TaskCompletionSource<StreamPosition> Answer, StreamPosition Position)> _held = new();
        private volatile bool _releaseAll;
        private int _issued;
        private int _completed;

        /// <summary>Which offsets' publishes fail with <c>unavailable</c> (they are stored all the same).</summary>
        public Func<long, bool> Fails { get; init; } = _ => false;

        public int Held => _held.Count;

        public int Issued => Volatile.Read(ref _issued);

        public int Completed => Volatile.Read(ref _completed);

        public void Release(int count)
        {
            for (var i = 0; i < count && _held.TryDequeue(out var held); i++)
            {
                Answer(held.Answer, held.Position);
            }
        }

        public void ReleaseAll(bool keepReleasing = false)
        {
            _releaseAll = keepReleasing;
            Release(int.MaxValue);
        }

        public override async ValueTask<StreamPosition> PublishAsync(string channel, Payload data, HistoryOptions history, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _issued);
            var position = await Inner.PublishAsync(channel, data, history, cancellationToken);
            var answer = new TaskCompletionSource<StreamPosition>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_releaseAll)
            {
                Answer(answer, position);
            }
            else
            {
                _held.Enqueue((answer, position));
            }
            var answered = await answer.Task.WaitAsync(cancellationToken);
            Interlocked.Increment(ref _completed);
            return answered;
        }

        private void Answer(TaskCompletionSource<StreamPosition> answer, StreamPosition position)
        {
            if (Fails(position.Offset))
            {
                answer.SetException(new PubSubException(PubSubErrorCodes.Unavailable, "The broker is unreachable."));
            }
            else
            {
                answer.SetResult(position);
            }
        }
    }
}
