using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using PubSub.Brokers;

namespace PubSub.Server.Tests.Channels;

/// <summary>
/// Publications that arrive while a subscription reads history are buffered and merged behind the
/// replay: none lost, none doubled. A broker that pauses the history read makes the race happen
/// every time instead of once in a while.
/// </summary>
public sealed class BufferingRaceTests
{
    private static long Offset(JsonElement frame) => frame.GetProperty("offset").GetInt64();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Publications_during_a_recovering_subscribe_are_delivered_once_in_order(bool pauseAfterRead)
    {
        var broker = new PausingBroker(pauseAfterRead);
        await using var node = await TestNode.StartAsync(services: b => b.Services.Replace(ServiceDescriptor.Singleton<IBroker>(broker)));
        await node.Publisher.PublishAsync("chat/race", new { i = 1 });
        var seen = await node.Publisher.PublishAsync("chat/race", new { i = 2 });
        await node.Publisher.PublishAsync("chat/race", new { i = 3 });
        await using var client = await node.ConnectAsync();

        broker.PauseNextRead();
        await client.SendAsync(new { type = "subscribe", id = 1, channel = "chat/race", since = new { epoch = seen.Epoch, offset = seen.Offset } });
        await broker.ReadPaused.WithTimeout("the history read to pause");
        await node.Publisher.PublishAsync("chat/race", new { i = 4 });
        await node.Publisher.PublishAsync("chat/race", new { i = 5 });
        broker.ResumeRead();

        var reply = await client.NextAsync();
        var messages = await client.MessagesAsync(3);
        await node.Publisher.PublishAsync("chat/race", new { i = 6 });
        var live = await client.NextAsync();

        Assert.Equal("reply", reply.GetProperty("type").GetString());
        Assert.True(reply.GetProperty("result").GetProperty("recovered").GetBoolean());
        Assert.Equal([3L, 4, 5], messages.Select(Offset));
        Assert.Equal(6, Offset(live));
    }

    [Fact]
    public async Task Publications_during_a_fresh_subscribe_follow_the_reply_without_a_gap()
    {
        var broker = new PausingBroker(pauseAfterRead: true);
        await using var node = await TestNode.StartAsync(services: b => b.Services.Replace(ServiceDescriptor.Singleton<IBroker>(broker)));
        await node.Publisher.PublishAsync("chat/fresh", new { i = 1 });
        await using var client = await node.ConnectAsync();

        broker.PauseNextRead();
        await client.SendAsync(new { type = "subscribe", id = 1, channel = "chat/fresh" });
        await broker.ReadPaused.WithTimeout("the history read to pause");
        await node.Publisher.PublishAsync("chat/fresh", new { i = 2 });
        broker.ResumeRead();

        var reply = await client.NextAsync();
        var message = await client.NextAsync();

        Assert.Equal(1, Offset(reply.GetProperty("result")));
        Assert.Equal("message", message.GetProperty("type").GetString());
        Assert.Equal(2, Offset(message));
    }

    /// <summary>A memory broker whose next history read can be held before or after it reads.</summary>
    private sealed class PausingBroker(bool pauseAfterRead) : MemoryBrokerDecorator
    {
        private TaskCompletionSource _paused = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private TaskCompletionSource _resume = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _armed;

        public Task ReadPaused => _paused.Task;

        public void PauseNextRead()
        {
            _paused = new(TaskCreationOptions.RunContinuationsAsynchronously);
            _resume = new(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _armed, 1);
        }

        public void ResumeRead() => _resume.TrySetResult();

        public override async ValueTask<HistoryPage> ReadHistoryAsync(string channel, HistoryQuery query, CancellationToken cancellationToken)
        {
            var pause = Interlocked.Exchange(ref _armed, 0) == 1;
            if (pause && !pauseAfterRead)
            {
                _paused.TrySetResult();
                await _resume.Task;
            }
            var page = await Inner.ReadHistoryAsync(channel, query, cancellationToken);
            if (pause && pauseAfterRead)
            {
                _paused.TrySetResult();
                await _resume.Task;
            }
            return page;
        }
    }
}
