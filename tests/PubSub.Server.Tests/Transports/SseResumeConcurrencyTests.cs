using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using PubSub.Brokers;

namespace PubSub.Server.Tests.Transports;

/// <summary>
/// A resumed SSE stream makes its cursor's subscriptions all at once. With a slow broker, one
/// after another would keep the last channel waiting for every other channel's answer, and the
/// stream would go that long with channels not yet settled. Here the broker answers no history
/// read until the reads of all the cursor's channels have begun: subscribed one at a time, the
/// first would never be answered.
/// </summary>
public sealed class SseResumeConcurrencyTests
{
    private static readonly string[] s_channels = ["chat/c1", "chat/c2", "chat/c3"];

    [Fact]
    public async Task The_channels_of_a_resumed_cursor_are_subscribed_at_once_not_one_after_another()
    {
        var broker = new ReadsTogetherBroker(s_channels.Length);
        await using var node = await TestNode.StartAsync(services: b => b.Services.Replace(ServiceDescriptor.Singleton<IBroker>(broker)));
        var entries = new List<string>();
        foreach (var channel in s_channels)
        {
            var first = await node.Publisher.PublishAsync(channel, new { n = 1 });
            await node.Publisher.PublishAsync(channel, new { n = 2 });
            entries.Add($"{first.Epoch}:{first.Offset}:{channel}");
        }
        broker.Arm();

        await using var sse = await SseClient.ConnectAsync(node.BaseUri, lastEventId: string.Join(',', entries));
        var subscribed = new List<SseEvent>();
        var replayed = new List<SseEvent>();
        while (subscribed.Count < s_channels.Length || replayed.Count < s_channels.Length)
        {
            var e = await sse.NextAsync();
            (e.Type == "subscribed" ? subscribed : e.Type == "message" ? replayed : []).Add(e);
        }

        Assert.Equal(s_channels, subscribed.Select(s => s.Frame.GetProperty("channel").GetString()).Order());
        Assert.All(subscribed, s => Assert.True(s.Frame.GetProperty("recovered").GetBoolean()));
        Assert.All(replayed, m => Assert.Equal(2, m.Frame.GetProperty("offset").GetInt64()));
        Assert.True(broker.HeldReadsMet);
    }

    /// <summary>Once armed, holds every history read until <c>count</c> of them are waiting.</summary>
    private sealed class ReadsTogetherBroker(int count) : MemoryBrokerDecorator
    {
        private readonly TaskCompletionSource _allStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _armed;
        private int _started;

        /// <summary>True once the reads it held were all waiting at the same time.</summary>
        public bool HeldReadsMet => _allStarted.Task.IsCompleted;

        public void Arm() => Volatile.Write(ref _armed, 1);

        public override async ValueTask<HistoryPage> ReadHistoryAsync(string channel, HistoryQuery query, CancellationToken cancellationToken)
        {
            var ticket = Volatile.Read(ref _armed) == 1 ? Interlocked.Increment(ref _started) : 0;
            if (ticket is > 0 && ticket <= count)
            {
                if (ticket == count)
                {
                    _allStarted.TrySetResult();
                }
                await _allStarted.Task.WaitAsync(cancellationToken);
            }
            return await Inner.ReadHistoryAsync(channel, query, cancellationToken);
        }
    }
}
