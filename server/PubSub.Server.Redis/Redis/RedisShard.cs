using System.Diagnostics;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace PubSub.Redis;

/// <summary>
/// One Redis deployment and this node's connection to it: a single instance, a master followed
/// through its sentinels, or a Redis Cluster. A StackExchange.Redis multiplexer pipelines every
/// command over one interactive connection per server and carries pub/sub on another; it follows
/// Sentinel failovers and cluster redirections (MOVED, ASK) by itself, and restores the pub/sub
/// subscriptions after each reconnect.
/// </summary>
internal sealed class RedisShard(int index, string configuration, RedisMode mode) : IAsyncDisposable, IDisposable
{
    private const int Unknown = 0;
    private const int Standalone = 1;
    private const int Cluster = 2;

    private ConnectionMultiplexer? _multiplexer;
    private int _interactiveDown;
    private int _subscriptionDown;
    private int _kind;
    private string? _misconfigured;
    private readonly Lock _failureLock = new();
    private ConnectionFailureType _failure;
    private long _lastRelearn;

    private static readonly TimeSpan RelearnInterval = TimeSpan.FromSeconds(2);

    public int Index { get; } = index;

    /// <summary>The configuration string without its password, for logs and error messages.</summary>
    public string Name { get; } = RedisBrokerOptionsValidator.Redact(configuration);

    public IDatabase Database => (_multiplexer ?? throw NotStarted()).GetDatabase();

    public ISubscriber Subscriber => (_multiplexer ?? throw NotStarted()).GetSubscriber();

    public bool IsConnected => _multiplexer?.IsConnected == true;

    /// <summary>
    /// Whether the deployment is a cluster: known once the node has reached it (or from the
    /// configured <see cref="RedisMode"/>); null before. Nothing can be sent until it is known,
    /// because the two modes name their pub/sub channels differently.
    /// </summary>
    public bool? IsCluster => Volatile.Read(ref _kind) switch
    {
        Standalone => false,
        Cluster => true,
        _ => null,
    };

    /// <summary>Raised (off the caller's thread) when a connection drops, with the connection's type.</summary>
    public event Action<RedisShard, ConnectionType, Exception?>? ConnectionFailed;

    /// <summary>Raised when a connection is back; for the pub/sub connection, after its subscriptions were sent again.</summary>
    public event Action<RedisShard, ConnectionType>? ConnectionRestored;

    /// <summary>
    /// Connects. When Redis cannot be reached this returns after the connect timeout anyway, and
    /// the multiplexer keeps trying in the background: the node starts, and works once Redis does.
    /// </summary>
    /// <exception cref="InvalidOperationException">The deployment is not what <see cref="RedisMode"/> says.</exception>
    public async Task ConnectAsync(string nodeId, RedisBrokerOptions options)
    {
        var config = ConfigurationOptions.Parse(configuration);
        config.AbortOnConnectFail = false;
        config.ConnectTimeout = (int)options.ConnectTimeout.TotalMilliseconds;
        config.ReconnectRetryPolicy = new LinearRetry((int)options.ReconnectInterval.TotalMilliseconds);
        config.ClientName ??= "pubsub-" + nodeId;
        // The scripts PUBLISH to the full names; a channel prefix applied only on SUBSCRIBE would miss them.
        config.ChannelPrefix = default(RedisChannel);
        // A command issued while the connection is down fails at once ('unavailable': surely not
        // carried out), instead of waiting in the client's backlog to be sent, or not, later.
        config.BacklogPolicy = BacklogPolicy.FailFast;
        // Every failed connection attempt, from the first, is seen here: the ConnectionFailed event is not enough.
        config.LoggerFactory = new FailureWatch(this);
        var multiplexer = await ConnectionMultiplexer.ConnectAsync(config);
        multiplexer.ConnectionFailed += (_, e) =>
        {
            RecordFailure(e.FailureType);
            ConnectionFailed?.Invoke(this, e.ConnectionType, e.Exception);
        };
        multiplexer.ConnectionRestored += (_, e) =>
        {
            RecordRestored();
            LearnKind();
            ConnectionRestored?.Invoke(this, e.ConnectionType);
        };
        _multiplexer = multiplexer;
        await WaitForSubscriptionConnectionAsync(multiplexer, options.ConnectTimeout);
        LearnKind();
        if (_misconfigured is { } problem)
        {
            throw new InvalidOperationException(problem);
        }
    }

    /// <summary>Why the deployment cannot be reached, as well as the client library can tell.</summary>
    public string Unreachable => Failure == ConnectionFailureType.AuthenticationFailure
        ? $"Redis {Name} refused the credentials: check the password (and user) in its configuration."
        : $"Redis {Name} is unreachable.";

    private ConnectionFailureType Failure
    {
        get
        {
            lock (_failureLock)
            {
                return _failure;
            }
        }
    }

    /// <summary>
    /// What to remember of why this deployment cannot be used, when a connection attempt failed:
    /// a refusal of the credentials stands until a connection comes up (<see cref="RecordRestored"/>),
    /// any other failure only until the next. With a wrong password not every attempt of
    /// StackExchange.Redis 3.4.35 fails as AuthenticationFailure: when ConnectAsync's first round
    /// finds no server usable it resets the connections not up yet ("Resetting failing connections
    /// to retry"), and one still waiting for its AUTH reply fails as UnableToConnect (in scratch
    /// runs, 42 of 905 connects had such a connection, or one failing with SocketFailure). The
    /// attempts after it are refused again, and nothing since has shown the credentials good.
    /// </summary>
    internal static ConnectionFailureType RememberFailure(ConnectionFailureType remembered, ConnectionFailureType reported) =>
        remembered == ConnectionFailureType.AuthenticationFailure ? remembered : reported;

    private void RecordFailure(ConnectionFailureType reported)
    {
        lock (_failureLock)
        {
            _failure = RememberFailure(_failure, reported);
        }
    }

    /// <summary>A connection is up: the credentials were accepted, and no failure stands.</summary>
    private void RecordRestored()
    {
        lock (_failureLock)
        {
            _failure = ConnectionFailureType.None;
        }
    }

    /// <summary>A pub/sub channel of this deployment: sharded in a cluster (SSUBSCRIBE/SPUBLISH), plain otherwise.</summary>
    /// <exception cref="PubSubException"><c>unavailable</c> while the deployment's kind is not known yet.</exception>
    public RedisChannel Channel(string name) => IsCluster switch
    {
        true => RedisChannel.Sharded(name),
        // Literal, always: channel names may contain '*' or '?', which must not turn a SUBSCRIBE into a PSUBSCRIBE.
        false => RedisChannel.Literal(name),
        null => throw new PubSubException(PubSubErrorCodes.Unavailable, $"Redis {Name} has not been reached yet."),
    };

    /// <summary>The publish command the scripts use for pub/sub channels of this deployment.</summary>
    public string PublishCommand => IsCluster == true ? "SPUBLISH" : "PUBLISH";

    /// <summary>
    /// Why the node cannot use this deployment now, or null when it can: it is connected, a round
    /// trip completes within <paramref name="timeout"/> (a Redis that hangs with its connections
    /// open answers nothing), and in a cluster the master of every slot is reachable.
    /// </summary>
    public async Task<string?> CheckAsync(TimeSpan timeout, TimeProvider time)
    {
        if (_misconfigured is { } problem)
        {
            return problem;
        }
        if (_multiplexer is not { } multiplexer || !multiplexer.IsConnected)
        {
            return Unreachable;
        }
        if (IsCluster is not { } isCluster)
        {
            return $"Redis {Name} has not told yet whether it is a cluster.";
        }
        try
        {
            var database = multiplexer.GetDatabase();
            if (!isCluster)
            {
                await database.PingAsync().WaitAsync(timeout, time);
                return null;
            }
            await database.PingAsync().WaitAsync(timeout, time);
            // Every slot's master as the client knows the cluster now (it learns a failover as it happens).
            var masters = multiplexer.GetServers().FirstOrDefault(server => server.IsConnected)?.ClusterConfiguration?.Nodes
                .Where(node => !node.IsReplica && node.Slots.Count > 0 && node.EndPoint is not null) ?? [];
            var unserved = masters.Where(node => !multiplexer.GetServer(node.EndPoint!).IsConnected).Select(node => node.EndPoint).ToList();
            if (unserved.Count == 0)
            {
                return null;
            }
            RelearnTopology(multiplexer, time);
            return $"Redis Cluster {Name}: the master of some slots ({string.Join(", ", unserved)}) is unreachable.";
        }
        catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
        {
            return $"Redis {Name} did not answer within {timeout.TotalSeconds:0.###} s.";
        }
    }

    /// <summary>
    /// Asks the cluster for its slot map again, at most every <see cref="RelearnInterval"/>. The
    /// client learns a failover from a MOVED reply or its periodic check (every minute); a node
    /// that sends nothing to the failed slots, like one that started while their master was down,
    /// would otherwise report a promoted replica's slots unserved for up to that minute.
    /// </summary>
    private void RelearnTopology(ConnectionMultiplexer multiplexer, TimeProvider time)
    {
        var now = time.GetTimestamp();
        var last = Interlocked.Read(ref _lastRelearn);
        if ((last != 0 && time.GetElapsedTime(last, now) < RelearnInterval) || Interlocked.CompareExchange(ref _lastRelearn, now, last) != last)
        {
            return;
        }
        _ = multiplexer.ConfigureAsync().ContinueWith(
            static task => _ = task.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
    }

    private void LearnKind()
    {
        if (Volatile.Read(ref _kind) != Unknown || _multiplexer is not { IsConnected: true } multiplexer)
        {
            return;
        }
        var isCluster = multiplexer.GetServers().Any(server => server.IsConnected && server.ServerType == ServerType.Cluster);
        if (mode == RedisMode.Cluster && !isCluster)
        {
            // Then nothing is sent: the node stays unready and says why.
            _misconfigured = $"PubSub:Redis:Mode is Cluster, but Redis {Name} is not a cluster (its cluster-enabled is off).";
            return;
        }
        Interlocked.CompareExchange(ref _kind, mode == RedisMode.Cluster || (mode == RedisMode.Auto && isCluster) ? Cluster : Standalone, Unknown);
    }

    /// <summary>
    /// The pub/sub connection can come up a moment after the interactive one that ConnectAsync
    /// waited for (seen on a loaded machine), and a SUBSCRIBE issued before it is refused. Waits
    /// for it, within the connect timeout, so the node's first subscriptions are real ones.
    /// </summary>
    private static async Task WaitForSubscriptionConnectionAsync(ConnectionMultiplexer multiplexer, TimeSpan timeout)
    {
        var started = Stopwatch.GetTimestamp();
        while (multiplexer.IsConnected && !multiplexer.GetSubscriber().IsConnected() && Stopwatch.GetElapsedTime(started) < timeout)
        {
            await Task.Delay(10);
        }
    }

    /// <summary>Records that a connection dropped; true the first time, so a long outage is logged once, not at every reconnect attempt.</summary>
    public bool MarkDown(ConnectionType type) => Interlocked.Exchange(ref DownFlag(type), 1) == 0;

    public void MarkUp(ConnectionType type) => Interlocked.Exchange(ref DownFlag(type), 0);

    private ref int DownFlag(ConnectionType type) => ref type == ConnectionType.Subscription ? ref _subscriptionDown : ref _interactiveDown;

    private int _subscriptionsSuspect;

    /// <summary>
    /// Records that a cluster server's pub/sub connection failed: after a master's failover the
    /// client library may keep a sharded subscription it believes restored that hears nothing
    /// (StackExchange.Redis 3.4.35, seen in a test), so the broker makes them again once the
    /// cluster serves every slot. True when that was not already pending.
    /// </summary>
    public bool MarkSubscriptionsSuspect() => IsCluster == true && Interlocked.Exchange(ref _subscriptionsSuspect, 1) == 0;

    /// <summary>Takes the mark of <see cref="MarkSubscriptionsSuspect"/>: true once per failure.</summary>
    public bool TakeSubscriptionsSuspect() => Interlocked.Exchange(ref _subscriptionsSuspect, 0) == 1;

    public bool SubscriptionsSuspect => Volatile.Read(ref _subscriptionsSuspect) == 1;

    // Until when (a TimeProvider timestamp) the heartbeat checks that this shard's feeds hear.
    private long _checkListeningUntil;

    /// <summary>Makes the heartbeat check, until <paramref name="until"/>, that every feed on this shard hears what is published.</summary>
    public void CheckListeningUntil(long until) => Volatile.Write(ref _checkListeningUntil, until);

    /// <summary>Whether the heartbeat checks, at <paramref name="now"/>, that this shard's feeds hear.</summary>
    public bool ChecksListening(long now) => now < Volatile.Read(ref _checkListeningUntil);

    /// <summary>True when Redis has confirmed the subscription to <paramref name="channel"/> on a connection that is up.</summary>
    public bool IsSubscribed(RedisChannel channel) => _multiplexer is { } m && m.GetSubscriber().SubscribedEndpoint(channel) is not null;

    /// <summary>Commands issued on the interactive connection and not answered yet; more than one means they are pipelined.</summary>
    internal long CommandsInFlight =>
        _multiplexer?.GetCounters().Interactive is { } counters ? counters.PendingUnsentItems + counters.SentItemsAwaitingResponse : 0;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _multiplexer, null) is { } multiplexer)
        {
            try
            {
                await multiplexer.CloseAsync(allowCommandsToComplete: false).WaitAsync(TimeSpan.FromSeconds(5));
            }
            catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
            {
                // Closing a connection that is already broken has nothing left to do.
            }
            await multiplexer.DisposeAsync();
        }
    }

    public void Dispose() => Interlocked.Exchange(ref _multiplexer, null)?.Dispose();

    /// <summary>
    /// Sees in the client library's log what only it tells: every failed connection attempt, with
    /// its failure type (its connection-issue entry carries the RedisConnectionException), from the
    /// first attempt on, before ConnectAsync returns. The ConnectionFailed event is not enough: it
    /// is raised for a connection's first failure only, until that connection is up again, so when
    /// both connections' first failures were resets (see <see cref="RememberFailure"/>, one of the
    /// 905 connects) the refused password was never named: the CI flake of the wrong-password
    /// test. Nothing is written anywhere: the broker logs each outage itself, once.
    /// </summary>
    private sealed class FailureWatch(RedisShard shard) : ILoggerFactory, ILogger
    {
        public ILogger CreateLogger(string categoryName) => this;

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (exception is RedisConnectionException failure)
            {
                shard.RecordFailure(failure.FailureType);
            }
        }

        public void Dispose()
        {
        }
    }

    private static ObjectDisposedException NotStarted() => new(nameof(RedisShard), "The Redis broker is not running.");
}
