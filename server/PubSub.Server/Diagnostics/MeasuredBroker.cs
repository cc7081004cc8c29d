using System.Diagnostics;

namespace PubSub.Diagnostics;

/// <summary>
/// The broker as the node's parts use it: the configured <see cref="IBroker"/> with each operation
/// timed and its failures counted (<see cref="PubSubMetrics.BrokerOperation"/>), whichever broker it is.
/// </summary>
internal sealed class MeasuredBroker(IBroker inner, PubSubMetrics metrics) : IBroker
{
    /// <summary>The broker's type, for the node's start log.</summary>
    public string Name => inner.GetType().Name;

    public Task StartAsync(string nodeId, IBrokerHandler handler, CancellationToken cancellationToken) => inner.StartAsync(nodeId, handler, cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => inner.StopAsync(cancellationToken);

    // Each call is issued before its first await, as IBroker's contract asks of publishes.
    public ValueTask<StreamPosition> PublishAsync(string channel, Payload data, HistoryOptions history, CancellationToken cancellationToken) =>
        MeasureAsync("publish", inner.PublishAsync(channel, data, history, cancellationToken));

    public ValueTask<StreamPosition> PublishAsync(string channel, Payload data, HistoryOptions history, IdempotencyKey idempotency, CancellationToken cancellationToken) =>
        MeasureAsync("publish", inner.PublishAsync(channel, data, history, idempotency, cancellationToken));

    public ValueTask<IReadOnlyList<string>> GetNodesAsync(CancellationToken cancellationToken) =>
        MeasureAsync("nodes", inner.GetNodesAsync(cancellationToken));

    public ValueTask<HistoryPage> ReadHistoryAsync(string channel, HistoryQuery query, CancellationToken cancellationToken) =>
        MeasureAsync("read", inner.ReadHistoryAsync(channel, query, cancellationToken));

    public async ValueTask SubscribeAsync(string channel, CancellationToken cancellationToken) =>
        await MeasureAsync("subscribe", AsResult(inner.SubscribeAsync(channel, cancellationToken)));

    public async ValueTask UnsubscribeAsync(string channel, CancellationToken cancellationToken) =>
        await MeasureAsync("unsubscribe", AsResult(inner.UnsubscribeAsync(channel, cancellationToken)));

    public ValueTask<bool> SendToNodeAsync(string nodeId, ReadOnlyMemory<byte> message, CancellationToken cancellationToken) =>
        MeasureAsync("send", inner.SendToNodeAsync(nodeId, message, cancellationToken));

    public async ValueTask AddPresenceAsync(string channel, PresenceMember member, bool announce, CancellationToken cancellationToken) =>
        await MeasureAsync("presence_add", AsResult(inner.AddPresenceAsync(channel, member, announce, cancellationToken)));

    public async ValueTask RemovePresenceAsync(string channel, string session, bool announce, CancellationToken cancellationToken) =>
        await MeasureAsync("presence_remove", AsResult(inner.RemovePresenceAsync(channel, session, announce, cancellationToken)));

    public ValueTask<PresencePage> ReadPresenceAsync(string channel, int limit, CancellationToken cancellationToken) =>
        MeasureAsync("presence", inner.ReadPresenceAsync(channel, limit, cancellationToken));

    public ValueTask<PresenceStats> ReadPresenceStatsAsync(string channel, CancellationToken cancellationToken) =>
        MeasureAsync("presence_stats", inner.ReadPresenceStatsAsync(channel, cancellationToken));

    public ValueTask<string?> CheckAvailabilityAsync(CancellationToken cancellationToken) => inner.CheckAvailabilityAsync(cancellationToken);

    private async ValueTask<T> MeasureAsync<T>(string operation, ValueTask<T> call)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var result = await call;
            metrics.BrokerOperation(operation, Stopwatch.GetElapsedTime(started), errorCode: null);
            return result;
        }
        catch (PubSubException e)
        {
            metrics.BrokerOperation(operation, Stopwatch.GetElapsedTime(started), e.Code);
            throw;
        }
    }

    private static async ValueTask<bool> AsResult(ValueTask call)
    {
        await call;
        return true;
    }
}
