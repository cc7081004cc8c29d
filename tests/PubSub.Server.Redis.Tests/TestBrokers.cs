using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using PubSub.Redis;

namespace PubSub.Server.Redis.Tests;

/// <summary>Redis brokers for tests: quick to reconnect and retry, so fault tests run in seconds.</summary>
internal static class TestBrokers
{
    /// <summary>
    /// For tests that wait for an empty stream (read, never published) to expire in Redis, whose
    /// TTLs run in real time. Longer than any subscribe takes, since a subscribe reads the channel
    /// twice (the feed's floor, then the hub's position) and the stream must outlive the first.
    /// </summary>
    public static readonly Action<RedisBrokerOptions> ShortLivedEmptyStreams = options => options.EmptyStreamIdleTimeout = TimeSpan.FromSeconds(2);

    public static RedisBroker Create(IEnumerable<string> configurations, Action<RedisBrokerOptions>? configure = null, RecordingLogger<RedisBroker>? logger = null, TimeProvider? time = null)
    {
        var options = new RedisBrokerOptions
        {
            ConnectTimeout = TimeSpan.FromSeconds(2),
            ReconnectInterval = TimeSpan.FromMilliseconds(100),
            RecoveryRetryInterval = TimeSpan.FromMilliseconds(100),
        };
        foreach (var configuration in configurations)
        {
            options.Shards.Add(configuration);
        }
        configure?.Invoke(options);
        return new RedisBroker(options, time ?? TimeProvider.System, logger ?? new RecordingLogger<RedisBroker>());
    }

    public static RedisBroker Create(string configuration, Action<RedisBrokerOptions>? configure = null, RecordingLogger<RedisBroker>? logger = null) =>
        Create([configuration], configure, logger);

    /// <summary>A broker on a Redis Cluster, named as an operator would: its nodes and the mode.</summary>
    public static RedisBroker CreateForCluster(RedisCluster cluster, Action<RedisBrokerOptions>? configure = null, RecordingLogger<RedisBroker>? logger = null) =>
        Create([], options =>
        {
            options.Configuration = cluster.Configuration;
            options.Mode = RedisMode.Cluster;
            configure?.Invoke(options);
        }, logger);

    /// <summary>
    /// Reads deliveries until every <paramref name="confirmed"/> publication has come, and checks
    /// that none came twice and each epoch's came in offset order (a promoted replica that lagged
    /// restarts the epoch). What a failover must never do is lose a confirmed publication silently.
    /// </summary>
    public static async Task AssertEveryConfirmedOnceInOrderAsync(RecordingBrokerHandler handler, IReadOnlyList<StreamPosition> confirmed, Func<string> state)
    {
        var seen = new List<StreamPosition>();
        while (!confirmed.All(seen.Contains))
        {
            try
            {
                seen.Add((await handler.NextPublicationAsync()).Position);
            }
            catch (TimeoutException e)
            {
                throw new TimeoutException($"{e.Message} Delivered {seen.Count}, the last {seen.LastOrDefault()}; the first confirmed one missing is {confirmed.First(c => !seen.Contains(c))}; {state()}.", e);
            }
        }
        Assert.Equal(seen.Count, seen.Distinct().Count());
        foreach (var epoch in seen.GroupBy(p => p.Epoch))
        {
            Assert.Equal(epoch.OrderBy(p => p.Offset), epoch);
        }
    }

    public static async Task<(RedisBroker Broker, RecordingBrokerHandler Handler, string NodeId)> StartAsync(RedisBroker broker)
    {
        var handler = new RecordingBrokerHandler();
        var nodeId = "n" + Guid.NewGuid().ToString("N")[..10];
        await broker.StartAsync(nodeId, handler, CancellationToken.None);
        return (broker, handler, nodeId);
    }
}

/// <summary>A logger that keeps what was logged, for tests that check a warning was (or was not) written.</summary>
internal sealed class RecordingLogger<T> : ILogger<T>
{
    public ConcurrentQueue<(LogLevel Level, EventId Id, string Message)> Entries { get; } = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Entries.Enqueue((logLevel, eventId, formatter(state, exception)));

    public IEnumerable<string> At(LogLevel level) => Entries.Where(e => e.Level >= level).Select(e => e.Message);
}
