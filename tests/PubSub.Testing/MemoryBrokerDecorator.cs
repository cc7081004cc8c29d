using PubSub.Brokers;

namespace PubSub.Testing;

/// <summary>
/// A memory broker to wrap: a test overrides the one call whose behaviour it changes (a delay, a
/// loss, a failure) and every other call goes to the real thing.
/// </summary>
public abstract class MemoryBrokerDecorator : IBroker
{
    /// <param name="shared">A backplane other nodes use too; by default the broker has one of its own.</param>
    protected MemoryBrokerDecorator(MemoryBackplane? shared = null) =>
        Inner = new MemoryBroker(shared ?? new MemoryBackplane(), ownsBackplane: shared is null);

    /// <summary>The real broker every call goes to unless a test overrides it.</summary>
    protected IBroker Inner { get; }

    public virtual Task StartAsync(string nodeId, IBrokerHandler handler, CancellationToken cancellationToken) =>
        Inner.StartAsync(nodeId, handler, cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Inner.StopAsync(cancellationToken);

    public virtual ValueTask<StreamPosition> PublishAsync(string channel, Payload data, HistoryOptions history, CancellationToken cancellationToken) =>
        Inner.PublishAsync(channel, data, history, cancellationToken);

    public virtual ValueTask<StreamPosition> PublishAsync(string channel, Payload data, HistoryOptions history, IdempotencyKey idempotency, CancellationToken cancellationToken) =>
        Inner.PublishAsync(channel, data, history, idempotency, cancellationToken);

    public virtual ValueTask<IReadOnlyList<string>> GetNodesAsync(CancellationToken cancellationToken) => Inner.GetNodesAsync(cancellationToken);

    public virtual ValueTask<HistoryPage> ReadHistoryAsync(string channel, HistoryQuery query, CancellationToken cancellationToken) =>
        Inner.ReadHistoryAsync(channel, query, cancellationToken);

    public ValueTask SubscribeAsync(string channel, CancellationToken cancellationToken) => Inner.SubscribeAsync(channel, cancellationToken);

    public ValueTask UnsubscribeAsync(string channel, CancellationToken cancellationToken) => Inner.UnsubscribeAsync(channel, cancellationToken);

    public virtual ValueTask<bool> SendToNodeAsync(string nodeId, ReadOnlyMemory<byte> message, CancellationToken cancellationToken) =>
        Inner.SendToNodeAsync(nodeId, message, cancellationToken);

    public virtual ValueTask AddPresenceAsync(string channel, PresenceMember member, bool announce, CancellationToken cancellationToken) =>
        Inner.AddPresenceAsync(channel, member, announce, cancellationToken);

    public virtual ValueTask RemovePresenceAsync(string channel, string session, bool announce, CancellationToken cancellationToken) =>
        Inner.RemovePresenceAsync(channel, session, announce, cancellationToken);

    public virtual ValueTask<PresencePage> ReadPresenceAsync(string channel, int limit, CancellationToken cancellationToken) =>
        Inner.ReadPresenceAsync(channel, limit, cancellationToken);

    public virtual ValueTask<PresenceStats> ReadPresenceStatsAsync(string channel, CancellationToken cancellationToken) =>
        Inner.ReadPresenceStatsAsync(channel, cancellationToken);
}
