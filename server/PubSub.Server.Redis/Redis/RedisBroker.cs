using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace PubSub.Redis;

/// <summary>
/// The scale-out broker: channels, history and node-to-node messages in one or several Redis
/// instances (docs/architecture.md, "Redis broker"). Each publication is one Lua script that
/// assigns its offset, appends it to the channel's history stream and PUBLISHes it to the nodes
/// subscribed to the channel; each node's <see cref="ChannelFeed"/> delivers them in order and
/// closes gaps from history after a dropped connection.
/// </summary>
internal sealed partial class RedisBroker : IBroker, IFeedSource, IAsyncDisposable, IDisposable
{
    private const int New = 0;
    private const int Started = 1;
    private const int Stopped = 2;

    private static readonly RedisValue JsonKind = "j";
    private static readonly RedisValue BinaryKind = "b";

    private readonly RedisBrokerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly RedisKeys _keys;
    private readonly RedisShard[] _shards;
    private readonly CancellationTokenSource _stopping = new();

    // Guards the feeds, and orders every subscribe and unsubscribe sent to Redis.
    private readonly Lock _subscriptionGate = new();
    private readonly Dictionary<string, ChannelFeed> _feeds = new(StringComparer.Ordinal);

    private readonly Action<RedisChannel, RedisValue> _onNodeMessage;
    private int _state;
    private IBrokerHandler? _handler;
    private RedisShard? _nodeShard;
    private RedisChannel _nodeChannel;
    private RedisKey _aliveKey;
    private ITimer? _heartbeat;
    private int _heartbeatRunning;
    private long _recoveredPublications;
    private long _resumes;

    public RedisBroker(RedisBrokerOptions options, TimeProvider time, ILogger<RedisBroker> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _time = time;
        _logger = logger;
        _keys = new RedisKeys(options.KeyPrefix);
        var configurations = options.ShardConfigurations;
        if (configurations.Count == 0)
        {
            throw new InvalidOperationException("No Redis is configured: set RedisBrokerOptions.Configuration or Shards.");
        }
        _shards = [.. configurations.Select((configuration, index) => new RedisShard(index, configuration))];
        _onNodeMessage = OnNodeMessage;
    }

    ILogger IFeedSource.Logger => _logger;

    /// <summary>Publications delivered from history after a gap or reconnect, since start.</summary>
    internal long RecoveredPublications => Interlocked.Read(ref _recoveredPublications);

    /// <summary>Times a pub/sub connection came back and the channels on it were recovered.</summary>
    internal long Resumes => Interlocked.Read(ref _resumes);

    internal IReadOnlyList<RedisShard> Shards => _shards;

    internal RedisShard ShardFor(string name) => _shards[ShardMap.ShardOf(name, _shards.Length)];

    public async Task StartAsync(string nodeId, IBrokerHandler handler, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(nodeId);
        ArgumentNullException.ThrowIfNull(handler);
        if (Interlocked.CompareExchange(ref _state, Started, New) != New)
        {
            throw new InvalidOperationException("A Redis broker starts once.");
        }
        _handler = handler;
        _nodeShard = ShardFor(nodeId);
        _nodeChannel = _keys.Node(nodeId);
        _aliveKey = _keys.Alive(nodeId);
        foreach (var shard in _shards)
        {
            shard.ConnectionFailed += OnConnectionFailed;
            shard.ConnectionRestored += OnConnectionRestored;
        }
        await Task.WhenAll(_shards.Select(shard => shard.ConnectAsync(nodeId, _options))).WaitAsync(cancellationToken);
        foreach (var shard in _shards.Where(shard => !shard.IsConnected))
        {
            Log.UnreachableAtStart(_logger, shard.Name);
        }
        // Listen before announcing: a node that looks alive must be able to receive.
        await EnsureNodeChannelAsync();
        await RenewAliveAsync();
        _heartbeat = _time.CreateTimer(static state => _ = ((RedisBroker)state!).HeartbeatAsync(), this, _options.NodeHeartbeatInterval, _options.NodeHeartbeatInterval);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _state, Stopped, Started) != Started)
        {
            return;
        }
        _heartbeat?.Dispose();
        await _stopping.CancelAsync();
        RetireFeeds();
        _handler = null;
        try
        {
            // Others learn at once that this node is gone, rather than when its heartbeat expires.
            var shard = _nodeShard!;
            await Await(shard.Database.KeyDeleteAsync(_aliveKey), shard, shard.Name, "remove this node's liveness key on", cancellationToken);
        }
        catch (Exception e) when (e is PubSubException || IsRedisFailure(e))
        {
            // Then it expires on its own.
        }
        foreach (var shard in _shards)
        {
            await shard.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None);
        Dispose();
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _state, Stopped) == Started)
        {
            _heartbeat?.Dispose();
            _stopping.Cancel();
            RetireFeeds();
            _handler = null;
        }
        foreach (var shard in _shards)
        {
            shard.Dispose();
        }
        _stopping.Dispose();
    }

    public async ValueTask<StreamPosition> PublishAsync(string channel, Payload data, HistoryOptions history, CancellationToken cancellationToken)
    {
        var size = history.IsEnabled ? history.Size : 0;
        var ttl = history.IsEnabled ? Milliseconds(history.Ttl) : 0;
        // Issued before the first await: publishes made one after another reach Redis in that
        // order, pipelined on the shard's connection rather than one round trip at a time.
        var result = await RunAsync(
            ShardFor(channel),
            RedisScripts.Publish,
            [_keys.Meta(channel), _keys.History(channel)],
            [Ids.NewEpoch(), data.IsBinary ? BinaryKind : JsonKind, ArrayOf(data.Bytes), size, ttl, Milliseconds(_options.StreamIdleTimeout), _keys.PublicationsName(channel)],
            channel,
            "publish",
            cancellationToken);
        var parts = (RedisResult[])result!;
        return new StreamPosition((long)parts[0], (string)parts[1]!);
    }

    public async ValueTask<HistoryPage> ReadHistoryAsync(string channel, HistoryQuery query, CancellationToken cancellationToken) =>
        await ReadAsync(channel, query.SinceOffset ?? -1, query.Limit, cancellationToken);

    public async ValueTask SubscribeAsync(string channel, CancellationToken cancellationToken)
    {
        var shard = ShardFor(channel);
        ChannelFeed feed;
        Task subscribing;
        lock (_subscriptionGate)
        {
            ThrowIfNotStarted();
            if (_feeds.ContainsKey(channel))
            {
                return;
            }
            feed = new ChannelFeed(channel, shard, _keys.Publications(channel), this);
            _feeds.Add(channel, feed);
            subscribing = Issue(shard, feed, subscribe: true, channel);
        }

        try
        {
            await Await(subscribing, shard, channel, "subscribe", cancellationToken);
            if (!shard.IsSubscribed(feed.RedisChannel))
            {
                // The client accepts a subscription while disconnected but will not restore it.
                throw Unavailable(channel, "subscribe", null);
            }
            // Where the channel stands now that the subscription is in effect: what arrives next
            // is checked against it for gaps.
            var position = await ReadAsync(channel, since: -1, limit: 0, cancellationToken);
            feed.SetFloor(position.Latest);
        }
        catch
        {
            lock (_subscriptionGate)
            {
                if (_feeds.TryGetValue(channel, out var current) && current == feed)
                {
                    _feeds.Remove(channel);
                    feed.Retire();
                    _ = Issue(shard, feed, subscribe: false, channel);
                }
            }
            throw;
        }
    }

    public async ValueTask UnsubscribeAsync(string channel, CancellationToken cancellationToken)
    {
        Task unsubscribing;
        RedisShard shard;
        lock (_subscriptionGate)
        {
            if (!_feeds.Remove(channel, out var feed))
            {
                return;
            }
            feed.Retire();
            shard = feed.Shard!;
            unsubscribing = Issue(shard, feed, subscribe: false, channel);
        }
        try
        {
            await Await(unsubscribing, shard, channel, "unsubscribe", cancellationToken);
        }
        catch (PubSubException e) when (e.InnerException is RedisConnectionException)
        {
            // The connection is gone, and with it the subscription; it will not be restored.
        }
    }

    public async ValueTask<bool> SendToNodeAsync(string nodeId, ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
    {
        var result = await RunAsync(
            ShardFor(nodeId),
            RedisScripts.SendToNode,
            [_keys.Alive(nodeId)],
            [_keys.NodeName(nodeId), ArrayOf(message)],
            nodeId,
            "send a message to node",
            cancellationToken);
        return (long)result > 0;
    }

    void IFeedSource.Deliver(Publication publication)
    {
        try
        {
            _handler?.OnPublication(publication);
        }
        catch (Exception e)
        {
            // A handler must not throw; if it does, the next publication must still be delivered.
            Log.HandlerFailed(_logger, publication.Channel, e);
        }
    }

    async Task<HistoryPage> IFeedSource.ReadAsync(string channel, long since, int limit) =>
        await ReadAsync(channel, since, limit, CancellationToken.None);

    async Task IFeedSource.RestartEpochAsync(string channel, StreamPosition rewound, long deliveredOffset) =>
        await RunAsync(
            ShardFor(channel),
            RedisScripts.RestartEpoch,
            [_keys.Meta(channel), _keys.History(channel)],
            [rewound.Epoch, deliveredOffset, Ids.NewEpoch()],
            channel,
            "restart the epoch of",
            CancellationToken.None);

    Task IFeedSource.DelayRetryAsync() => Task.Delay(_options.RecoveryRetryInterval, _time, _stopping.Token);

    void IFeedSource.OnRecovered(string channel, int delivered)
    {
        Interlocked.Add(ref _recoveredPublications, delivered);
        Log.Recovered(_logger, delivered, channel);
    }

    private async Task<HistoryPage> ReadAsync(string channel, long since, int limit, CancellationToken cancellationToken)
    {
        var result = await RunAsync(
            ShardFor(channel),
            RedisScripts.Read,
            [_keys.Meta(channel), _keys.History(channel)],
            [Ids.NewEpoch(), Milliseconds(_options.StreamIdleTimeout), since, Math.Max(0, limit), Milliseconds(_options.EmptyStreamIdleTimeout)],
            channel,
            "read the history of",
            cancellationToken);
        var parts = (RedisResult[])result!;
        var epoch = (string)parts[0]!;
        var latest = new StreamPosition((long)parts[1], epoch);
        var publications = new List<Publication>((parts.Length - 2) / 3);
        for (var i = 2; i + 2 < parts.Length; i += 3)
        {
            var id = (string)parts[i]!;
            var offset = long.Parse(id.AsSpan(0, id.IndexOf('-', StringComparison.Ordinal)), provider: null);
            var kind = (byte[]?)parts[i + 1] ?? [];
            if (kind.Length != 1 || !PublicationCodec.TryCreatePayload(kind[0], (byte[]?)parts[i + 2] ?? [], out var payload))
            {
                Log.MalformedHistoryEntry(_logger, channel, offset);
                continue;
            }
            publications.Add(new Publication(channel, offset, epoch, payload));
        }
        if (since < 0)
        {
            // Read newest first, so that the limit keeps the latest ones.
            publications.Reverse();
        }
        return new HistoryPage(latest, publications);
    }

    /// <summary>
    /// Runs a script on a shard. The command is issued before the first await, so calls made one
    /// after another are pipelined in that order.
    /// </summary>
    private Task<RedisResult> RunAsync(RedisShard shard, RedisScripts.LuaScript script, RedisKey[] keys, RedisValue[] values, string target, string what, CancellationToken cancellationToken) =>
        CallAsync(shard, db => script.EvaluateAsync(db, keys, values), target, what, cancellationToken);

    private Task<T> CallAsync<T>(RedisShard shard, Func<IDatabase, Task<T>> command, string target, string what, CancellationToken cancellationToken)
    {
        Task<T> call;
        try
        {
            if (Volatile.Read(ref _state) != Started)
            {
                throw new ObjectDisposedException(nameof(RedisBroker), "The Redis broker is not running.");
            }
            call = command(shard.Database);
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            return Task.FromException<T>(Unavailable(target, what, e));
        }
        return Await(call, shard, target, what, cancellationToken);
    }

    private async Task<T> Await<T>(Task<T> call, RedisShard shard, string target, string what, CancellationToken cancellationToken)
    {
        await Await((Task)call, shard, target, what, cancellationToken);
        return call.Result;
    }

    /// <summary>
    /// Awaits a command within <see cref="RedisBrokerOptions.OperationTimeout"/>, telling the two
    /// failures a caller must treat differently apart: <c>unavailable</c> when the command never
    /// left this node (it is safe to send again), <c>timeout</c> when it may have reached Redis and
    /// taken effect (a stalled Redis that answers later still stores the publication).
    /// </summary>
    private async Task Await(Task call, RedisShard shard, string target, string what, CancellationToken cancellationToken)
    {
        try
        {
            await call.WaitAsync(_options.OperationTimeout, _time, cancellationToken);
        }
        catch (TimeoutException e) when (e is not RedisTimeoutException)
        {
            Log.CommandTimedOut(_logger, what, target, shard.Name, _options.OperationTimeout.TotalSeconds);
            throw OutcomeUnknown(target, what, $"Redis did not answer within {_options.OperationTimeout.TotalSeconds:0.###} s", e);
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            throw MayHaveBeenSent(e) ? OutcomeUnknown(target, what, "The connection to Redis failed while the request was on its way", e) : Unavailable(target, what, e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            // The client cancels what was in flight on a connection that broke.
            throw OutcomeUnknown(target, what, "The connection to Redis failed while the request was on its way", e);
        }
    }

    /// <summary>Sends SUBSCRIBE or UNSUBSCRIBE for a feed; called under the subscription gate, so they go out in call order.</summary>
    private static Task Issue(RedisShard shard, ChannelFeed feed, bool subscribe, string channel)
    {
        try
        {
            return subscribe ? feed.SubscribeAsync(shard.Subscriber) : feed.UnsubscribeAsync();
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            return Task.FromException(Unavailable(channel, subscribe ? "subscribe" : "unsubscribe", e));
        }
    }

    private static bool IsRedisFailure(Exception e) => e is RedisException or TimeoutException or ObjectDisposedException;

    /// <summary>
    /// Whether a failed command may have been written to Redis. Only a command the client library
    /// reports as never sent (no connection to send it on, or still waiting in its queue) surely
    /// had no effect.
    /// </summary>
    private static bool MayHaveBeenSent(Exception e) => e switch
    {
        RedisConnectionException connection => connection.FailureType != ConnectionFailureType.UnableToResolvePhysicalConnection
            && connection.CommandStatus != CommandStatus.WaitingToBeSent,
        RedisTimeoutException => true,
        _ => false,
    };

    private static PubSubException OutcomeUnknown(string target, string what, string problem, Exception cause) =>
        new(PubSubErrorCodes.Timeout, $"{problem} to {what} '{target}'; whether it took effect is unknown.", cause);

    // Clients see this message: it says what failed, not where Redis runs (the log has that).
    private static PubSubException Unavailable(string target, string what, Exception? cause) =>
        new(PubSubErrorCodes.Unavailable, $"Redis is unreachable, so the broker could not {what} '{target}'.", cause);

    private void ThrowIfNotStarted()
    {
        if (Volatile.Read(ref _state) != Started)
        {
            throw new PubSubException(PubSubErrorCodes.Unavailable, "The Redis broker is not running.");
        }
    }

    private void RetireFeeds()
    {
        lock (_subscriptionGate)
        {
            foreach (var feed in _feeds.Values)
            {
                feed.Retire();
            }
            _feeds.Clear();
        }
    }

    private void OnNodeMessage(RedisChannel channel, RedisValue message) => _handler?.OnNodeMessage((byte[]?)message ?? []);

    private void OnConnectionFailed(RedisShard shard, ConnectionType type, Exception? cause)
    {
        if (shard.MarkDown(type))
        {
            Log.ConnectionFailed(_logger, type, shard.Name, cause);
        }
        if (type != ConnectionType.Subscription)
        {
            return;
        }
        foreach (var feed in FeedsOn(shard))
        {
            feed.Suspend();
        }
    }

    private void OnConnectionRestored(RedisShard shard, ConnectionType type)
    {
        shard.MarkUp(type);
        Log.ConnectionRestored(_logger, type, shard.Name);
        if (type == ConnectionType.Subscription && Volatile.Read(ref _state) == Started)
        {
            _ = ResumeAsync(shard);
        }
    }

    /// <summary>After the pub/sub connection came back: make sure every subscription is in place, then read what was missed.</summary>
    private async Task ResumeAsync(RedisShard shard)
    {
        try
        {
            await ResumeFeedsAsync(shard);
        }
        catch (Exception e)
        {
            Log.ResumeFailed(_logger, shard.Name, e);
        }
    }

    private async Task ResumeFeedsAsync(RedisShard shard)
    {
        try
        {
            // The client sent its SUBSCRIBEs again before raising the event; a round trip on the
            // same connection proves Redis has processed them, so that no publication can fall
            // between the history read below and the subscription.
            await Await(shard.Subscriber.PingAsync(), shard, shard.Name, "ping", _stopping.Token);
        }
        catch (Exception e) when (e is PubSubException or OperationCanceledException)
        {
            // The recovery reads retry on their own; a gap in later publications also starts one.
        }
        if (shard == _nodeShard)
        {
            await EnsureNodeChannelAsync();
            await RenewAliveAsync();
        }
        foreach (var feed in FeedsOn(shard))
        {
            if (!shard.IsSubscribed(feed.RedisChannel))
            {
                await ResubscribeAsync(shard, feed);
            }
            feed.Recover();
        }
        Interlocked.Increment(ref _resumes);
    }

    private async Task ResubscribeAsync(RedisShard shard, ChannelFeed feed)
    {
        Task subscribing;
        lock (_subscriptionGate)
        {
            if (!_feeds.TryGetValue(feed.Channel, out var current) || current != feed)
            {
                return;
            }
            _ = Issue(shard, feed, subscribe: false, feed.Channel);
            subscribing = Issue(shard, feed, subscribe: true, feed.Channel);
        }
        try
        {
            await Await(subscribing, shard, feed.Channel, "subscribe", _stopping.Token);
        }
        catch (Exception e) when (e is PubSubException or OperationCanceledException)
        {
            Log.ResubscribeFailed(_logger, feed.Channel, shard.Name);
        }
    }

    private List<ChannelFeed> FeedsOn(RedisShard shard)
    {
        lock (_subscriptionGate)
        {
            return [.. _feeds.Values.Where(feed => feed.Shard == shard)];
        }
    }

    private async Task HeartbeatAsync()
    {
        if (Interlocked.Exchange(ref _heartbeatRunning, 1) == 1)
        {
            return;
        }
        try
        {
            await EnsureNodeChannelAsync();
            await RenewAliveAsync();
            foreach (var shard in _shards.Where(shard => shard.IsConnected))
            {
                foreach (var feed in FeedsOn(shard))
                {
                    feed.RecoverIfStalled();
                }
            }
        }
        catch (Exception e) when (e is ObjectDisposedException)
        {
            // Stopped meanwhile.
        }
        finally
        {
            Volatile.Write(ref _heartbeatRunning, 0);
        }
    }

    /// <summary>Subscribes to this node's message channel unless the subscription is in place (it was made while Redis was down, for example).</summary>
    private async Task EnsureNodeChannelAsync()
    {
        var shard = _nodeShard!;
        if (shard.IsSubscribed(_nodeChannel))
        {
            return;
        }
        Task subscribing;
        lock (_subscriptionGate)
        {
            if (Volatile.Read(ref _state) != Started)
            {
                return;
            }
            try
            {
                var subscriber = shard.Subscriber;
                // A subscription made while disconnected is one the client keeps but never sends: start over.
                subscriber.Unsubscribe(_nodeChannel, _onNodeMessage, CommandFlags.FireAndForget);
                subscribing = subscriber.SubscribeAsync(_nodeChannel, _onNodeMessage);
            }
            catch (Exception e) when (IsRedisFailure(e))
            {
                return;
            }
        }
        try
        {
            await Await(subscribing, shard, shard.Name, "subscribe to node messages on", _stopping.Token);
        }
        catch (Exception e) when (e is PubSubException or OperationCanceledException)
        {
            // The heartbeat tries again.
        }
    }

    private async Task RenewAliveAsync()
    {
        var shard = _nodeShard!;
        if (!shard.IsSubscribed(_nodeChannel))
        {
            // Not alive for others until messages can reach this node.
            return;
        }
        try
        {
            await CallAsync(shard, db => db.StringSetAsync(_aliveKey, 1, _options.NodeTimeout), shard.Name, "renew this node's liveness on", _stopping.Token);
        }
        catch (Exception e) when (e is PubSubException or OperationCanceledException)
        {
            Log.HeartbeatFailed(_logger, e.Message);
        }
    }

    private static long Milliseconds(TimeSpan value) => Math.Max(1, (long)Math.Ceiling(value.TotalMilliseconds));

    /// <summary>The bytes as an array, without a copy when they are a whole array already.</summary>
    private static byte[] ArrayOf(ReadOnlyMemory<byte> bytes) =>
        MemoryMarshal.TryGetArray(bytes, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : bytes.ToArray();

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Redis {Shard} is unreachable as the node starts; publishing and subscribing fail with 'unavailable' until it connects.")]
        public static partial void UnreachableAtStart(ILogger logger, string shard);

        [LoggerMessage(2, LogLevel.Warning, "The {ConnectionType} connection to Redis {Shard} failed; reconnecting.")]
        public static partial void ConnectionFailed(ILogger logger, ConnectionType connectionType, string shard, Exception? exception);

        [LoggerMessage(3, LogLevel.Information, "The {ConnectionType} connection to Redis {Shard} is back.")]
        public static partial void ConnectionRestored(ILogger logger, ConnectionType connectionType, string shard);

        [LoggerMessage(4, LogLevel.Information, "Recovered {Count} missed publications of '{Channel}' from Redis history.")]
        public static partial void Recovered(ILogger logger, int count, string channel);

        [LoggerMessage(5, LogLevel.Warning, "Redis did not answer within {Seconds} s to {What} '{Target}' (Redis {Shard}).")]
        public static partial void CommandTimedOut(ILogger logger, string what, string target, string shard, double seconds);

        [LoggerMessage(6, LogLevel.Error, "The node's handler failed on a publication of '{Channel}'.")]
        public static partial void HandlerFailed(ILogger logger, string channel, Exception exception);

        [LoggerMessage(7, LogLevel.Warning, "History entry {Offset} of '{Channel}' could not be decoded; it was skipped.")]
        public static partial void MalformedHistoryEntry(ILogger logger, string channel, long offset);

        [LoggerMessage(8, LogLevel.Warning, "Subscribing again to '{Channel}' on Redis {Shard} failed; a later reconnect or publication tries again.")]
        public static partial void ResubscribeFailed(ILogger logger, string channel, string shard);

        [LoggerMessage(10, LogLevel.Error, "Resuming the channels on Redis {Shard} after a reconnect failed; a gap in later publications starts their recovery.")]
        public static partial void ResumeFailed(ILogger logger, string shard, Exception exception);

        [LoggerMessage(9, LogLevel.Debug, "Renewing the node's liveness key failed: {Reason}")]
        public static partial void HeartbeatFailed(ILogger logger, string reason);
    }
}
