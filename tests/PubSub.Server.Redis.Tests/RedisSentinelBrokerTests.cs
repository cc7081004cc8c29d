using System.Text;
using PubSub.Redis;

namespace PubSub.Server.Redis.Tests;

/// <summary>
/// The Redis broker on a master with a replica behind three real sentinels: it follows a
/// failover to the promoted replica, and what publishers and subscribers see meanwhile.
/// </summary>
public sealed class RedisSentinelBrokerTests : IAsyncLifetime
{
    private static readonly HistoryOptions History = new(1000, TimeSpan.FromMinutes(5));

    private readonly List<RedisBroker> _brokers = [];
    private RedisSentinelSetup _sentinel = null!;

    public async Task InitializeAsync() => _sentinel = await RedisSentinelSetup.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var broker in _brokers)
        {
            await broker.DisposeAsync();
        }
        await _sentinel.DisposeAsync();
    }

    private async Task<(RedisBroker Broker, RecordingBrokerHandler Handler, string NodeId)> StartNodeAsync()
    {
        var broker = TestBrokers.Create([], o =>
        {
            o.Configuration = _sentinel.Configuration;
            o.OperationTimeout = TimeSpan.FromSeconds(1);
        });
        _brokers.Add(broker);
        return await TestBrokers.StartAsync(broker);
    }

    private static Payload Json(int n) => Payload.FromJson(Encoding.UTF8.GetBytes(n.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    [Fact]
    public async Task After_a_sentinel_failover_every_confirmed_publication_reaches_the_subscriber_in_order_and_failures_are_told()
    {
        const string Channel = "busy/sentinel";
        var (publisher, _, _) = await StartNodeAsync();
        var (subscriber, handler, subscriberId) = await StartNodeAsync();
        await subscriber.SubscribeAsync(Channel, CancellationToken.None);

        var confirmed = new List<StreamPosition>();
        var refused = 0;
        Task? failover = null;
        for (var n = 1; confirmed.Count < 200; n++)
        {
            Assert.True(n < 5000, $"only {confirmed.Count} publications were confirmed in {n} attempts");
            if (confirmed.Count == 50 && failover is null)
            {
                await _sentinel.WaitForReplicationAsync();
                await _sentinel.KillMasterAsync();
                failover = _sentinel.WaitForFailoverAsync();
            }
            try
            {
                confirmed.Add(await publisher.PublishAsync(Channel, Json(n), History, CancellationToken.None));
            }
            catch (PubSubException e) when (e.Code is PubSubErrorCodes.Unavailable or PubSubErrorCodes.Timeout)
            {
                refused++;
                // Paces the retries of a bounded loop while the sentinels fail over; nothing waits on its timing.
                await Task.Delay(20);
            }
        }
        await failover!.WithTimeout("the failover", TimeSpan.FromSeconds(30));

        Assert.True(refused > 0, "no publish failed while the master was gone");
        await TestBrokers.AssertEveryConfirmedOnceInOrderAsync(handler, confirmed, () => $"feed {subscriber.FeedOf(Channel)?.State}");
        // Node messages follow the failover too, once the client library has moved the node's
        // subscription to the promoted master: until then a send reaches no listener and says so
        // (false: nothing was delivered, so trying again cannot deliver twice).
        await Timeouts.Until(async () => await publisher.SendToNodeAsync(subscriberId, "after"u8.ToArray(), CancellationToken.None), "the subscriber's node to listen on the promoted master");
        Assert.Equal("after"u8.ToArray(), await handler.NextNodeMessageAsync());
        await Timeouts.Until(async () => await subscriber.CheckAvailabilityAsync(CancellationToken.None) is null, "the subscriber's node to be ready");
    }
}
