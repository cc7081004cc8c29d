namespace PubSub;

/// <summary>
/// Settings of the Redis broker (<c>AddRedisBroker(...)</c>). In the Host they come from the
/// <c>PubSub:Redis</c> configuration section, for example the environment variable
/// <c>PubSub__Redis__Configuration=127.0.0.1:6379</c>. They are validated when the application starts.
/// </summary>
public sealed class RedisBrokerOptions
{
    /// <summary>The default <see cref="KeyPrefix"/>.</summary>
    public const string DefaultKeyPrefix = "pubsub:";

    /// <summary>The default <see cref="OperationTimeout"/>: 5 s.</summary>
    public static readonly TimeSpan DefaultOperationTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The default <see cref="ConnectTimeout"/>: 5 s.</summary>
    public static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The default <see cref="ReconnectInterval"/>: 1 s.</summary>
    public static readonly TimeSpan DefaultReconnectInterval = TimeSpan.FromSeconds(1);

    /// <summary>The default <see cref="RecoveryRetryInterval"/>: 1 s.</summary>
    public static readonly TimeSpan DefaultRecoveryRetryInterval = TimeSpan.FromSeconds(1);

    /// <summary>The default <see cref="NodeHeartbeatInterval"/>: 2 s.</summary>
    public static readonly TimeSpan DefaultNodeHeartbeatInterval = TimeSpan.FromSeconds(2);

    /// <summary>The default <see cref="NodeTimeout"/>: 10 s.</summary>
    public static readonly TimeSpan DefaultNodeTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The default <see cref="StreamIdleTimeout"/>: 24 h, as for the in-memory broker.</summary>
    public static readonly TimeSpan DefaultStreamIdleTimeout = MemoryBackplane.DefaultStreamIdleTimeout;

    /// <summary>The default <see cref="EmptyStreamIdleTimeout"/>: 5 min, as for the in-memory broker.</summary>
    public static readonly TimeSpan DefaultEmptyStreamIdleTimeout = MemoryBackplane.DefaultEmptyStreamIdleTimeout;

    /// <summary>
    /// The StackExchange.Redis configuration string of the Redis to use: one instance
    /// (<c>127.0.0.1:6379</c>, <c>redis.internal:6379,password=secret,ssl=true</c>), the sentinels
    /// of a master with replicas (<c>sentinel1:26379,sentinel2:26379,serviceName=mymaster</c>: the
    /// broker follows a failover to the promoted replica), or any nodes of a Redis Cluster
    /// (<c>node1:6379,node2:6379</c>; see <see cref="Mode"/>). Set either this or <see cref="Shards"/>.
    /// </summary>
    public string? Configuration { get; set; }

    /// <summary>
    /// Whether <see cref="Configuration"/> is a Redis Cluster. <see cref="RedisMode.Auto"/> (the
    /// default) asks the server when the node first reaches it, and serves nothing until then;
    /// name the mode to catch a misconfiguration at start.
    /// </summary>
    public RedisMode Mode { get; set; } = RedisMode.Auto;

    /// <summary>
    /// The configuration strings of several independent Redis instances to spread channels over.
    /// Each channel lives on one of them, chosen by a consistent hash of its name; a shard is
    /// identified by its position in this list, so every node must list the same instances in
    /// the same order. Append new shards at the end: that moves the fewest channels.
    /// </summary>
    public IList<string> Shards { get; } = [];

    /// <summary>Prepended to every key and pub/sub channel this broker uses, so several deployments can share a Redis. Default <c>pubsub:</c>.</summary>
    public string KeyPrefix { get; set; } = DefaultKeyPrefix;

    /// <summary>
    /// How long a Redis command may take before the caller gets <c>unavailable</c>. Commands fail at
    /// once while the connection is down; this bounds the wait when Redis is reachable but does
    /// not answer. Default 5 s.
    /// </summary>
    public TimeSpan OperationTimeout { get; set; } = DefaultOperationTimeout;

    /// <summary>How long to wait for a connection to Redis, at start and on each reconnect attempt. Default 5 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = DefaultConnectTimeout;

    /// <summary>How often to try to reconnect after the connection to Redis dropped. Default 1 s.</summary>
    public TimeSpan ReconnectInterval { get; set; } = DefaultReconnectInterval;

    /// <summary>
    /// How long to wait before reading missed publications again when the read after a reconnect
    /// failed (Redis still loading its data, for example). Default 1 s.
    /// </summary>
    public TimeSpan RecoveryRetryInterval { get; set; } = DefaultRecoveryRetryInterval;

    /// <summary>How often a node renews its liveness key in Redis. Default 2 s.</summary>
    public TimeSpan NodeHeartbeatInterval { get; set; } = DefaultNodeHeartbeatInterval;

    /// <summary>
    /// How long a node counts as alive after its last heartbeat. A node that crashed or lost Redis
    /// stops receiving node-to-node messages after at most this long (at once when its connection
    /// closed cleanly). Must be longer than <see cref="NodeHeartbeatInterval"/>. Default 10 s.
    /// </summary>
    public TimeSpan NodeTimeout { get; set; } = DefaultNodeTimeout;

    /// <summary>
    /// How long a channel keeps its epoch and offset in Redis after its last publication or read
    /// (never less than its history TTL). After that the channel starts a new epoch. Default 24 h.
    /// </summary>
    public TimeSpan StreamIdleTimeout { get; set; } = DefaultStreamIdleTimeout;

    /// <summary>
    /// How long a channel that was read (subscribed to, or its history asked for) but never
    /// published keeps its epoch in Redis after its last read. Reading creates the epoch so that a
    /// first subscriber gets a position the next publish continues; it lives only this long, so
    /// reads of names no one publishes to leave no key behind for <see cref="StreamIdleTimeout"/>.
    /// After it, the next publish starts a new epoch: subscribers take it live, and a client that
    /// comes back with the old position gets <c>recovered: false</c>. A value longer than
    /// <see cref="StreamIdleTimeout"/> counts as that. Default 5 min.
    /// </summary>
    public TimeSpan EmptyStreamIdleTimeout { get; set; } = DefaultEmptyStreamIdleTimeout;

    /// <summary>The configuration strings in use: <see cref="Shards"/>, or <see cref="Configuration"/> alone.</summary>
    internal IReadOnlyList<string> ShardConfigurations =>
        Shards.Count > 0 ? [.. Shards] : string.IsNullOrWhiteSpace(Configuration) ? [] : [Configuration];
}

/// <summary>How the Redis broker uses its Redis (<see cref="RedisBrokerOptions.Mode"/>).</summary>
public enum RedisMode
{
    /// <summary>A cluster when the server says it is one, otherwise standalone.</summary>
    Auto,

    /// <summary>
    /// One Redis instance, a master followed through its sentinels, or each of several
    /// <see cref="RedisBrokerOptions.Shards"/>: plain pub/sub.
    /// </summary>
    Standalone,

    /// <summary>
    /// A Redis Cluster (Redis 7 or later): every key of a channel in the channel's slot, and
    /// channel fan-out over sharded pub/sub, so each publication travels only within its shard.
    /// </summary>
    Cluster,
}
