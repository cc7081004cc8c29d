namespace PubSub.Brokers;

/// <summary>
/// The embedded broker: one node's connection to a <see cref="MemoryBackplane"/>. With its own
/// backplane it serves a single node with no external dependency; with a shared one it lets
/// several nodes in one process behave as they would on Redis.
/// </summary>
internal sealed class MemoryBroker(MemoryBackplane backplane, bool ownsBackplane) : IBroker, IDisposable
{
    private string? _nodeId;
    private IBrokerHandler? _handler;

    public Task StartAsync(string nodeId, IBrokerHandler handler, CancellationToken cancellationToken)
    {
        _handler = handler;
        _nodeId = nodeId;
        backplane.Attach(nodeId, this);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (_nodeId is { } nodeId)
        {
            backplane.Detach(nodeId, this);
        }
        _handler = null;
        return Task.CompletedTask;
    }

    public ValueTask<StreamPosition> PublishAsync(string channel, Payload data, HistoryOptions history, CancellationToken cancellationToken) =>
        ValueTask.FromResult(backplane.Publish(channel, data, history, idempotency: null));

    public ValueTask<StreamPosition> PublishAsync(string channel, Payload data, HistoryOptions history, IdempotencyKey idempotency, CancellationToken cancellationToken) =>
        ValueTask.FromResult(backplane.Publish(channel, data, history, idempotency));

    public ValueTask<IReadOnlyList<string>> GetNodesAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult(backplane.Nodes);

    public ValueTask<HistoryPage> ReadHistoryAsync(string channel, HistoryQuery query, CancellationToken cancellationToken) =>
        ValueTask.FromResult(backplane.ReadHistory(channel, query));

    public ValueTask SubscribeAsync(string channel, CancellationToken cancellationToken)
    {
        backplane.Subscribe(channel, this);
        return ValueTask.CompletedTask;
    }

    public ValueTask UnsubscribeAsync(string channel, CancellationToken cancellationToken)
    {
        backplane.Unsubscribe(channel, this);
        return ValueTask.CompletedTask;
    }

    public ValueTask<bool> SendToNodeAsync(string nodeId, ReadOnlyMemory<byte> message, CancellationToken cancellationToken) =>
        ValueTask.FromResult(backplane.SendToNode(nodeId, message));

    public ValueTask AddPresenceAsync(string channel, PresenceMember member, bool announce, CancellationToken cancellationToken)
    {
        backplane.AddPresence(channel, _nodeId ?? throw new InvalidOperationException("The broker is not started."), member, announce);
        return ValueTask.CompletedTask;
    }

    public ValueTask RemovePresenceAsync(string channel, string session, bool announce, CancellationToken cancellationToken)
    {
        backplane.RemovePresence(channel, session, announce);
        return ValueTask.CompletedTask;
    }

    public ValueTask<PresencePage> ReadPresenceAsync(string channel, int limit, CancellationToken cancellationToken) =>
        ValueTask.FromResult(backplane.ReadPresence(channel, limit));

    public ValueTask<PresenceStats> ReadPresenceStatsAsync(string channel, CancellationToken cancellationToken) =>
        ValueTask.FromResult(backplane.ReadPresenceStats(channel));

    public void Dispose()
    {
        if (ownsBackplane)
        {
            backplane.Dispose();
        }
    }

    internal void Deliver(Publication publication) => _handler?.OnPublication(publication);

    internal void DeliverNodeMessage(byte[] message) => _handler?.OnNodeMessage(message);

    internal void DeliverPresence(PresenceEvent presence) => _handler?.OnPresence(presence);
}
