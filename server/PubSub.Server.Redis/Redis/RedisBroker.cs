using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace PubSub.Redis;

/// <summary>
/// The scale-out broker: channels, history and node-to-node messages in Redis: one instance, a
/// master followed through Sentinel, a Redis Cluster, or several independent instances as
/// client-side shards (docs/architecture.md, "Redis broker"). Each publication is one Lua script
/// that assigns its offset, appends it to the channel's history stream and publishes it to the
/// nodes subscribed to the channel; each node's <see cref="ChannelFeed"/> delivers them in order
/// and closes gaps from history after a dropped connection.
/// </summary>
internal sealed partial class RedisBroker : IBroker, IFeedSource, IAsyncDisposable, IDisposable
{
    private const int New = 0;
    private const int Started = 1;
    // Between the two: the broker takes no new work, and runs only what stopping needs (removing its presence).
    private const int Stopping = 2;
    private const int Stopped = 3;

    private static readonly RedisValue JsonKind = "j";
    private static readonly RedisValue BinaryKind = "b";

    private readonly RedisBrokerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly RedisKeys _keys;
    private readonly RedisShard[] _shards;
    private readonly RedisCommands _commands;
    private readonly CancellationTokenSource _stopping = new();

    // Guards the feeds, and orders every subscribe and unsubscribe sent to Redis.
    private readonly Lock _subscriptionGate = new();
    private readonly Dictionary<string, ChannelFeed> _feeds = new(StringComparer.Ordinal);

    private int _state;
    private IBrokerHandler? _handler;
    private NodeLiveness? _liveness;
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
        // Client-side shards are independent instances; only a single configuration may be a cluster.
        var mode = configurations.Count > 1 ? RedisMode.Standalone : options.Mode;
        _shards = [.. configurations.Select((configuration, index) => new RedisShard(index, configuration, mode))];
        _commands = new RedisCommands(options, time, () => Volatile.Read(ref _state) is Started or Stopping, logger);
    }

    ILogger IFeedSource.Logger => _logger;

    /// <summary>Publications delivered from history after a gap or reconnect, since start.</summary>
    internal long RecoveredPublications => Interlocked.Read(ref _recoveredPublications);

    /// <summary>Times a pub/sub connection came back and the channels on it were recovered.</summary>
    internal long Resumes => Interlocked.Read(ref _resumes);

    internal IReadOnlyList<RedisShard> Shards => _shards;

    internal RedisShard ShardFor(string name) => _shards[ShardMap.ShardOf(name, _shards.Length)];

    /// <summary>The feed of a channel this node is subscribed to, for tests.</summary>
    internal ChannelFeed? FeedOf(string channel)
    {
        lock (_subscriptionGate)
        {
            return _feeds.GetValueOrDefault(channel);
        }
    }

    public async Task StartAsync(string nodeId, IBrokerHandler handler, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(nodeId);
        ArgumentNullException.ThrowIfNull(handler);
        if (Interlocked.CompareExchange(ref _state, Started, New) != New)
        {
            throw new InvalidOperationException("A Redis broker starts once.");
        }
        _handler = handler;
        _nodeId = nodeId;
        foreach (var shard in _shards)
        {
            shard.ConnectionFailed += OnConnectionFailed;
            shard.ConnectionRestored += OnConnectionRestored;
        }
        await Task.WhenAll(_shards.Select(shard => shard.ConnectAsync(nodeId, _options))).WaitAsync(cancellationToken);
        foreach (var shard in _shards.Where(shard => !shard.IsConnected))
        {
            Log.UnreachableAtStart(_logger, shard.Unreachable);
        }
        _liveness = new NodeLiveness(ShardFor(nodeId), ShardFor(_keys.Roster), _keys, nodeId, _options, _commands, OnNodeMessage, _logger);
        // Listen before announcing: a node that looks alive must be able to receive.
        await _liveness.ListenAsync(_stopping.Token);
        await _liveness.RenewAsync(_stopping.Token);
        _heartbeat = _time.CreateTimer(static state => _ = ((RedisBroker)state!).HeartbeatAsync(), this, _options.NodeHeartbeatInterval, _options.NodeHeartbeatInterval);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _state, Stopping, Started) != Started)
        {
            return;
        }
        _heartbeat?.Dispose();
        // While the broker still runs commands: the others then see this node's members go at once.
        await DropPresenceAsync(cancellationToken);
        Volatile.Write(ref _state, Stopped);
        await _stopping.CancelAsync();
        RetireFeeds();
        _handler = null;
        if (_liveness is { } liveness)
        {
            // The broker no longer runs commands: this one goes to the shard directly.
            await liveness.LeaveAsync(cancellationToken);
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
        if (Interlocked.Exchange(ref _state, Stopped) is Started or Stopping)
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

    public ValueTask<StreamPosition> PublishAsync(string channel, Payload data, HistoryOptions history, CancellationToken cancellationToken) =>
        PublishAsync(channel, data, history, idempotency: null, cancellationToken);

    public ValueTask<StreamPosition> PublishAsync(string channel, Payload data, HistoryOptions history, IdempotencyKey idempotency, CancellationToken cancellationToken) =>
        PublishAsync(channel, data, history, (IdempotencyKey?)idempotency, cancellationToken);

    private async ValueTask<StreamPosition> PublishAsync(string channel, Payload data, HistoryOptions history, IdempotencyKey? idempotency, CancellationToken cancellationToken)
    {
        var shard = ShardFor(channel);
        var size = history.IsEnabled ? history.Size : 0;
        var ttl = history.IsEnabled ? Milliseconds(history.Ttl) : 0;
        RedisKey[] keys = idempotency is { } once
            ? [_keys.Meta(channel), _keys.History(channel), _keys.Once(channel, once.Key)]
            : [_keys.Meta(channel), _keys.History(channel)];
        RedisValue[] values = [Ids.NewEpoch(), data.IsBinary ? BinaryKind : JsonKind, ArrayOf(data.Bytes), size, ttl, Milliseconds(_options.StreamIdleTimeout), _keys.Publications(channel), PublishCommandOf(shard, channel)];
        if (idempotency is { } key)
        {
            values = [.. values, Milliseconds(key.Window)];
        }
        // Issued before the first await: publishes made one after another reach Redis in that
        // order, pipelined on the shard's connection rather than one round trip at a time.
        var result = await _commands.RunAsync(shard, RedisScripts.Publish, keys, values, channel, "publish", cancellationToken);
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
            feed = new ChannelFeed(channel, shard, shard.Channel(_keys.Publications(channel)), this);
            _feeds.Add(channel, feed);
            subscribing = Issue(shard, feed, subscribe: true, channel);
        }

        try
        {
            await _commands.AwaitAsync(subscribing, shard, channel, "subscribe", cancellationToken);
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
                    // Also what the client library keeps of a SUBSCRIBE that failed, to send later.
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
            await _commands.AwaitAsync(unsubscribing, shard, channel, "unsubscribe", cancellationToken);
        }
        catch (PubSubException e) when (e.InnerException is RedisConnectionException)
        {
            // The connection is gone, and with it the subscription; it will not be restored.
        }
    }

    public async ValueTask<bool> SendToNodeAsync(string nodeId, ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
    {
        var shard = ShardFor(nodeId);
        var result = await _commands.RunAsync(
            shard,
            RedisScripts.SendToNode,
            [_keys.Alive(nodeId)],
            [_keys.Node(nodeId), ArrayOf(message), PublishCommandOf(shard, nodeId)],
            nodeId,
            "send a message to node",
            cancellationToken);
        return (long)result > 0;
    }

    public async ValueTask<IReadOnlyList<string>> GetNodesAsync(CancellationToken cancellationToken)
    {
        var roster = _keys.Roster;
        var result = await _commands.RunAsync(ShardFor(roster), RedisScripts.ReadRoster, [roster], [], roster, "read the live nodes from", cancellationToken);
        return [.. ((RedisResult[])result!).Select(node => (string)node!)];
    }

    public async ValueTask<string?> CheckAvailabilityAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _state) != Started)
        {
            return "The Redis broker is not running.";
        }
        // A short round trip: a readiness probe asks every few seconds.
        var timeout = TimeSpan.FromTicks(Math.Min(_options.OperationTimeout.Ticks, TimeSpan.FromSeconds(2).Ticks));
        foreach (var problem in await Task.WhenAll(_shards.Select(shard => shard.CheckAsync(timeout, _time))).WaitAsync(cancellationToken))
        {
            if (problem is not null)
            {
                return problem;
            }
        }
        return _liveness is { IsListening: true } ? null : "The node is not yet subscribed to its node messages in Redis.";
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
        await _commands.RunAsync(
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
        var result = await _commands.RunAsync(
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

    /// <summary>The shard's publish command, for a script; <c>unavailable</c> while the shard's kind is unknown.</summary>
    private static string PublishCommandOf(RedisShard shard, string target) =>
        shard.IsCluster is null ? throw RedisCommands.Unavailable(target, "reach", null) : shard.PublishCommand;

    /// <summary>Sends SUBSCRIBE or UNSUBSCRIBE for a feed; called under the subscription gate, so they go out in call order.</summary>
    private static Task Issue(RedisShard shard, ChannelFeed feed, bool subscribe, string channel)
    {
        try
        {
            var subscriber = shard.Subscriber;
            return subscribe ? feed.SubscribeAsync(subscriber) : feed.UnsubscribeAsync(subscriber);
        }
        catch (Exception e) when (RedisCommands.IsRedisFailure(e))
        {
            return Task.FromException(RedisCommands.Unavailable(channel, subscribe ? "subscribe" : "unsubscribe", e));
        }
    }

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

    private void OnNodeMessage(ReadOnlyMemory<byte> message) => _handler?.OnNodeMessage(message);

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
        // In a cluster this is one of its servers: hold every feed of it, to be safe; those whose
        // server did not fail find nothing missed.
        foreach (var feed in FeedsOn(shard))
        {
            feed.Suspend();
        }
        shard.MarkSubscriptionsSuspect();
        CheckListening(shard);
    }

    /// <summary>
    /// After a pub/sub connection failed or came back, and after subscriptions were made afresh:
    /// for a while the heartbeat checks that each feed hears (<see cref="IsDeafAsync"/>). After a
    /// Sentinel failover, and after a cluster master's, a subscription the client library reported
    /// in place has been seen to hear nothing, with the feed live and no gap to notice.
    /// </summary>
    private void CheckListening(RedisShard shard) => shard.CheckListeningUntil(_time.GetTimestamp() + ListeningCheckTicks);

    private void OnConnectionRestored(RedisShard shard, ConnectionType type)
    {
        shard.MarkUp(type);
        Log.ConnectionRestored(_logger, type, shard.Name);
        if (type == ConnectionType.Subscription && Volatile.Read(ref _state) == Started)
        {
            _ = ResumeAsync(shard);
        }
    }

    /// <summary>After a pub/sub connection came back: once the subscriptions are in effect again, read what was missed.</summary>
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
        CheckListening(shard);
        try
        {
            // The client sent its SUBSCRIBEs again before raising the event; a round trip on the
            // same connection proves Redis has processed them, so that no publication can fall
            // between the history read below and the subscription.
            await _commands.AwaitAsync(shard.Subscriber.PingAsync(), shard, shard.Name, "ping", _stopping.Token);
        }
        catch (Exception e) when (e is PubSubException or OperationCanceledException)
        {
            // The recovery reads retry on their own; a gap in later publications also starts one.
        }
        if (_liveness is { } liveness && liveness.Shard == shard)
        {
            await liveness.ListenAsync(_stopping.Token);
            await liveness.RenewAsync(_stopping.Token);
        }
        foreach (var feed in FeedsOn(shard))
        {
            // In a cluster the client may still be moving a subscription to the server that now
            // holds its slot; reading before it is in place could miss what falls between.
            await WaitUntilSubscribedAsync(shard, feed);
            feed.Recover();
        }
        Interlocked.Increment(ref _resumes);
    }

    /// <summary>
    /// Waits, within the connect timeout, until Redis has confirmed the feed's subscription. The
    /// client library keeps and restores every subscription itself; this only orders the read after it.
    /// </summary>
    private async Task WaitUntilSubscribedAsync(RedisShard shard, ChannelFeed feed)
    {
        var deadline = _time.GetTimestamp() + (long)(_options.ConnectTimeout.TotalSeconds * _time.TimestampFrequency);
        while (!shard.IsSubscribed(feed.RedisChannel) && feed.State != ChannelFeed.FeedState.Retired)
        {
            if (_time.GetTimestamp() > deadline)
            {
                Log.NotResubscribed(_logger, feed.Channel, shard.Name);
                return;
            }
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(10), _time, _stopping.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Makes a feed's subscription again: when Redis no longer holds it although the shard is
    /// connected, or after a cluster server failed. The client library restores subscriptions
    /// after reconnects, but after a cluster master's failover it left sharded ones unrestored, or
    /// restored in name only (StackExchange.Redis 3.4.35, seen in tests): the feed would hear
    /// nothing more. Then the missed publications are read from history.
    /// </summary>
    private async Task RenewSubscriptionAsync(RedisShard shard, ChannelFeed feed)
    {
        Task subscribing;
        lock (_subscriptionGate)
        {
            if (!_feeds.TryGetValue(feed.Channel, out var current) || current != feed)
            {
                return;
            }
            Log.SubscriptionLost(_logger, feed.Channel, shard.Name);
            feed.Suspend();
            _ = Issue(shard, feed, subscribe: false, feed.Channel);
            subscribing = Issue(shard, feed, subscribe: true, feed.Channel);
        }
        try
        {
            await _commands.AwaitAsync(subscribing, shard, feed.Channel, "subscribe", _stopping.Token);
        }
        catch (Exception e) when (e is PubSubException or OperationCanceledException)
        {
            // The next heartbeat looks again.
        }
        feed.Recover();
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
            if (_liveness is { } liveness)
            {
                await liveness.ListenAsync(_stopping.Token);
                await liveness.RenewAsync(_stopping.Token);
            }
            await RenewPresenceAsync();
            foreach (var shard in _shards.Where(shard => shard.IsConnected))
            {
                // After a cluster server failed, once the cluster serves every slot again: every
                // subscription made afresh, wherever its slot lives now.
                var renewAll = shard.SubscriptionsSuspect && await shard.CheckAsync(_options.OperationTimeout, _time) is null && shard.TakeSubscriptionsSuspect();
                if (renewAll)
                {
                    // Even made afresh, a subscription has been seen to hear nothing (the library
                    // still moving to the new master): for a while, each feed's delivered offset
                    // is compared with the channel's own, and a feed that fell behind is renewed.
                    CheckListening(shard);
                }
                var checkListening = shard.ChecksListening(_time.GetTimestamp());
                foreach (var feed in FeedsOn(shard))
                {
                    if (feed.IsSubscriptionLost(shard.IsSubscribed(feed.RedisChannel)) || renewAll)
                    {
                        await RenewSubscriptionAsync(shard, feed);
                        feed.ResetListeningCheck();
                    }
                    else if (checkListening && await IsDeafAsync(feed))
                    {
                        Log.FeedDeaf(_logger, feed.Channel, shard.Name);
                        // Still checked after this: the renewal itself must be seen to hear.
                        CheckListening(shard);
                        await RenewSubscriptionAsync(shard, feed);
                        feed.ResetListeningCheck();
                    }
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

    /// <summary>How long after a pub/sub connection's failure, its return or a renewal the heartbeat checks that feeds hear, in timestamp ticks: 60 s.</summary>
    private long ListeningCheckTicks => 60 * _time.TimestampFrequency;

    /// <summary>Whether a live feed missed what Redis held a heartbeat ago (<see cref="ChannelFeed.IsDeaf"/>); false when Redis cannot be asked now.</summary>
    private async Task<bool> IsDeafAsync(ChannelFeed feed)
    {
        try
        {
            var position = await ReadAsync(feed.Channel, since: -1, limit: 0, _stopping.Token);
            return feed.IsDeaf(position.Latest);
        }
        catch (Exception e) when (e is PubSubException or OperationCanceledException)
        {
            return false;
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
        [LoggerMessage(1, LogLevel.Warning, "{Problem} The node starts anyway; publishing and subscribing fail with 'unavailable', and it is not ready, until Redis answers.")]
        public static partial void UnreachableAtStart(ILogger logger, string problem);

        [LoggerMessage(2, LogLevel.Warning, "The {ConnectionType} connection to Redis {Shard} failed; reconnecting.")]
        public static partial void ConnectionFailed(ILogger logger, ConnectionType connectionType, string shard, Exception? exception);

        [LoggerMessage(3, LogLevel.Information, "The {ConnectionType} connection to Redis {Shard} is back.")]
        public static partial void ConnectionRestored(ILogger logger, ConnectionType connectionType, string shard);

        [LoggerMessage(4, LogLevel.Information, "Recovered {Count} missed publications of '{Channel}' from Redis history.")]
        public static partial void Recovered(ILogger logger, int count, string channel);

        [LoggerMessage(6, LogLevel.Error, "The node's handler failed on a publication of '{Channel}'.")]
        public static partial void HandlerFailed(ILogger logger, string channel, Exception exception);

        [LoggerMessage(7, LogLevel.Warning, "History entry {Offset} of '{Channel}' could not be decoded; it was skipped.")]
        public static partial void MalformedHistoryEntry(ILogger logger, string channel, long offset);

        [LoggerMessage(8, LogLevel.Warning, "The subscription to '{Channel}' on Redis {Shard} is not back after the reconnect yet; recovering from history anyway, and a gap in later publications recovers again.")]
        public static partial void NotResubscribed(ILogger logger, string channel, string shard);

        [LoggerMessage(13, LogLevel.Warning, "The subscription to '{Channel}' on {Shard} hears nothing although the client library reports it in place: making it again, and reading what was missed from history.")]
        public static partial void FeedDeaf(ILogger logger, string channel, string shard);

        [LoggerMessage(12, LogLevel.Warning, "Redis {Shard} no longer holds this node's subscription to '{Channel}' though the connection is up; subscribing again and recovering from history.")]
        public static partial void SubscriptionLost(ILogger logger, string channel, string shard);

        [LoggerMessage(14, LogLevel.Debug, "Renewing this node's presence in '{Channel}' failed: {Reason}")]
        public static partial void PresenceRenewFailed(ILogger logger, string channel, string reason);

        [LoggerMessage(10, LogLevel.Error, "Resuming the channels on Redis {Shard} after a reconnect failed; a gap in later publications starts their recovery.")]
        public static partial void ResumeFailed(ILogger logger, string shard, Exception exception);
    }
}
