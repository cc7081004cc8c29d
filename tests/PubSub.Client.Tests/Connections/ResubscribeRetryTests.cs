using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using PubSub.Client.Tests.Support;

namespace PubSub.Client.Tests.Connections;

/// <summary>
/// A subscription that was live is the application's to end, not a broker outage's: when the
/// resubscribe after a reconnect fails for a reason that passes (the server says `unavailable`),
/// the client asks again after a backoff and recovers what it missed, as client-js does.
/// </summary>
public sealed class ResubscribeRetryTests
{
    [Theory, AllTransports]
    public async Task A_resubscribe_refused_for_now_is_asked_again_and_recovers(PubSubTransport transport)
    {
        var broker = new FailingReads();
        await using var node = await TestNode.StartAsync(services: b => b.Services.Replace(ServiceDescriptor.Singleton<IBroker>(broker)));
        await using var client = await ClientHarness.ConnectAsync(node, transport);
        var events = new ClientEvents(client);
        await using var subscription = await client.SubscribeAsync("chat/outage");
        var resubscribed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        subscription.Resubscribed += (_, e) => resubscribed.TrySetResult(e.Recovered);
        await node.PublishNumbersAsync("chat/outage", [1]);
        await subscription.ReadAsync(1);

        // The next two history reads (the resubscribe's, then its first retry's) fail.
        broker.Failures = 2;
        node.CloseSession(client.SessionId!);
        await events.NextAsync(PubSubClientState.Connected);
        await node.PublishNumbersAsync("chat/outage", [2, 3]);

        Assert.True(await resubscribed.Task.WithTimeout("the subscription to be confirmed again"));
        Assert.Equal([2, 3], (await subscription.ReadAsync(2)).Select(m => m.N()));
        Assert.False(subscription.Completion.IsCompleted);
        Assert.Equal(0, broker.Failures);
    }

    /// <summary>History reads fail with 'unavailable' while <see cref="Failures"/> lasts, as a broker outage would.</summary>
    private sealed class FailingReads : MemoryBrokerDecorator
    {
        private int _failures;

        public int Failures
        {
            get => Volatile.Read(ref _failures);
            set => Volatile.Write(ref _failures, value);
        }

        public override ValueTask<HistoryPage> ReadHistoryAsync(string channel, HistoryQuery query, CancellationToken cancellationToken)
        {
            if (Interlocked.Decrement(ref _failures) >= 0)
            {
                return ValueTask.FromException<HistoryPage>(new PubSub.PubSubException(PubSub.PubSubErrorCodes.Unavailable, "The broker is unreachable (test)."));
            }
            Interlocked.Exchange(ref _failures, 0);
            return base.ReadHistoryAsync(channel, query, cancellationToken);
        }
    }
}
