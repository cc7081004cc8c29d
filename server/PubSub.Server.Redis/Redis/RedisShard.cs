using System.Diagnostics;
using StackExchange.Redis;

namespace PubSub.Redis;

/// <summary>
/// One Redis instance and this node's connection to it: a StackExchange.Redis multiplexer, which
/// pipelines every command over one interactive connection and carries pub/sub on a second one.
/// </summary>
internal sealed class RedisShard(int index, string configuration) : IAsyncDisposable, IDisposable
{
    private ConnectionMultiplexer? _multiplexer;
    private int _interactiveDown;
    private int _subscriptionDown;

    public int Index { get; } = index;

    /// <summary>The configuration string without its password, for logs and error messages.</summary>
    public string Name { get; } = RedisBrokerOptionsValidator.Redact(configuration);

    public IDatabase Database => (_multiplexer ?? throw NotStarted()).GetDatabase();

    public ISubscriber Subscriber => (_multiplexer ?? throw NotStarted()).GetSubscriber();

    public bool IsConnected => _multiplexer?.IsConnected == true;

    /// <summary>Raised (off the caller's thread) when a connection drops, with the connection's type.</summary>
    public event Action<RedisShard, ConnectionType, Exception?>? ConnectionFailed;

    /// <summary>Raised when a connection is back; for the pub/sub connection, after its subscriptions were sent again.</summary>
    public event Action<RedisShard, ConnectionType>? ConnectionRestored;

    /// <summary>
    /// Connects. When Redis cannot be reached this returns after the connect timeout anyway, and
    /// the multiplexer keeps trying in the background: the node starts, and works once Redis does.
    /// </summary>
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
        var multiplexer = await ConnectionMultiplexer.ConnectAsync(config);
        multiplexer.ConnectionFailed += (_, e) => ConnectionFailed?.Invoke(this, e.ConnectionType, e.Exception);
        multiplexer.ConnectionRestored += (_, e) => ConnectionRestored?.Invoke(this, e.ConnectionType);
        _multiplexer = multiplexer;
        await WaitForSubscriptionConnectionAsync(multiplexer, options.ConnectTimeout);
    }

    /// <summary>
    /// The pub/sub connection can come up a moment after the interactive one that ConnectAsync
    /// waited for (seen on a loaded machine), and a SUBSCRIBE issued before it is accepted but
    /// never sent. Waits for it, within the connect timeout, so the node's first subscriptions
    /// are real ones.
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

    /// <summary>
    /// True when the subscription to <paramref name="channel"/> was sent on a live connection, so
    /// the client sends it again after every reconnect. A subscription made while disconnected is
    /// accepted by the client but never sent.
    /// </summary>
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
            multiplexer.Dispose();
        }
    }

    public void Dispose() => Interlocked.Exchange(ref _multiplexer, null)?.Dispose();

    private static ObjectDisposedException NotStarted() => new(nameof(RedisShard), "The Redis broker is not running.");
}
