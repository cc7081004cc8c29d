using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace PubSub.Redis;

/// <summary>
/// This node as the others see it in Redis: the pub/sub channel it hears node-to-node messages on,
/// and the key that says it is alive (set every heartbeat with expiry
/// <see cref="RedisBrokerOptions.NodeTimeout"/>, deleted when the node stops), and its entry in the
/// roster of live nodes (<see cref="RedisKeys.Roster"/>: one sorted set, which
/// <see cref="IBroker.GetNodesAsync"/> reads, renewed and removed with the key). Both are set only
/// while the channel is subscribed: a node that looks alive must be able to receive.
/// </summary>
internal sealed partial class NodeLiveness(
    RedisShard shard,
    RedisShard rosterShard,
    RedisKeys keys,
    string nodeId,
    RedisBrokerOptions options,
    RedisCommands commands,
    Action<ReadOnlyMemory<byte>> onMessage,
    ILogger logger)
{
    private readonly RedisKey _aliveKey = keys.Alive(nodeId);
    private RedisChannel? _channel;
    private int _subscribing;

    public RedisShard Shard => shard;

    /// <summary>Whether Redis has confirmed the node channel's subscription, on a connection that is up.</summary>
    public bool IsListening => _channel is { } channel && shard.IsSubscribed(channel);

    /// <summary>
    /// Subscribes the node channel, once: the client library keeps the subscription from then on,
    /// sending it again after every reconnect, and when Redis first answers if it does not now.
    /// (Subscribing again while one is being restored could register the handler twice, and then
    /// every forwarded request would be handled twice.) Waits for the deployment's kind, which
    /// names the channel.
    /// </summary>
    public async Task ListenAsync(CancellationToken cancellationToken)
    {
        if (shard.IsCluster is null || Interlocked.Exchange(ref _subscribing, 1) == 1)
        {
            return;
        }
        var channel = shard.Channel(keys.Node(nodeId));
        _channel = channel;
        try
        {
            await commands.AwaitAsync(shard.Subscriber.SubscribeAsync(channel, (_, message) => onMessage((byte[]?)message ?? [])),
                shard, shard.Name, "subscribe to node messages on", cancellationToken);
        }
        catch (Exception e) when (e is PubSubException or OperationCanceledException || RedisCommands.IsRedisFailure(e))
        {
            Log.ListenDeferred(logger, shard.Name, e.Message);
        }
    }

    /// <summary>Renews the liveness key, if the node can receive.</summary>
    public async Task RenewAsync(CancellationToken cancellationToken)
    {
        if (!IsListening)
        {
            return;
        }
        try
        {
            await commands.CallAsync(shard, db => db.StringSetAsync(_aliveKey, 1, options.NodeTimeout), shard.Name, "renew this node's liveness on", cancellationToken);
            await commands.RunAsync(rosterShard, RedisScripts.RenewRoster, [keys.Roster], [nodeId, (long)Math.Ceiling(options.NodeTimeout.TotalMilliseconds)],
                rosterShard.Name, "renew this node's roster entry on", cancellationToken);
        }
        catch (Exception e) when (e is PubSubException or OperationCanceledException)
        {
            Log.RenewFailed(logger, e.Message);
        }
    }

    /// <summary>Deletes the liveness key, so others learn at once that the node is gone rather than when it expires.</summary>
    public async Task LeaveAsync(CancellationToken cancellationToken)
    {
        try
        {
            await commands.AwaitAsync(shard.Database.KeyDeleteAsync(_aliveKey), shard, shard.Name, "remove this node's liveness key on", cancellationToken);
            await commands.AwaitAsync(rosterShard.Database.SortedSetRemoveAsync(keys.Roster, nodeId), rosterShard, rosterShard.Name, "remove this node's roster entry on", cancellationToken);
        }
        catch (Exception e) when (e is PubSubException or OperationCanceledException || RedisCommands.IsRedisFailure(e))
        {
            // Then it expires on its own.
        }
    }

    private static partial class Log
    {
        [LoggerMessage(9, LogLevel.Debug, "Renewing the node's liveness key failed: {Reason}")]
        public static partial void RenewFailed(ILogger logger, string reason);

        [LoggerMessage(11, LogLevel.Debug, "Subscribing to node messages on Redis {Shard} is left to the reconnect: {Reason}")]
        public static partial void ListenDeferred(ILogger logger, string shard, string reason);
    }
}
