using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace PubSub.Redis;

/// <summary>
/// Issues the broker's commands and turns every way they fail into the protocol's two answers:
/// <c>unavailable</c> when a command surely never took effect (it could not leave this node), and
/// <c>timeout</c> when it may have (it reached Redis, or may have, and no answer came in time). A
/// caller that retries needs that difference: a publish sent again after <c>timeout</c> may be
/// stored twice.
/// </summary>
internal sealed partial class RedisCommands(RedisBrokerOptions options, TimeProvider time, Func<bool> running, ILogger logger)
{
    /// <summary>
    /// Runs a script on a shard. The command is issued before the first await, so calls made one
    /// after another are pipelined in that order.
    /// </summary>
    public Task<RedisResult> RunAsync(RedisShard shard, RedisScripts.LuaScript script, RedisKey[] keys, RedisValue[] values, string target, string what, CancellationToken cancellationToken) =>
        CallAsync(shard, db => script.EvaluateAsync(db, keys, values), target, what, cancellationToken);

    public Task<T> CallAsync<T>(RedisShard shard, Func<IDatabase, Task<T>> command, string target, string what, CancellationToken cancellationToken)
    {
        Task<T> call;
        try
        {
            if (!running())
            {
                throw new ObjectDisposedException(nameof(RedisBroker), "The Redis broker is not running.");
            }
            call = command(shard.Database);
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            return Task.FromException<T>(Unavailable(target, what, e));
        }
        return AwaitAsync(call, shard, target, what, cancellationToken);
    }

    public async Task<T> AwaitAsync<T>(Task<T> call, RedisShard shard, string target, string what, CancellationToken cancellationToken)
    {
        await AwaitAsync((Task)call, shard, target, what, cancellationToken);
        return call.Result;
    }

    /// <summary>Awaits a command within <see cref="RedisBrokerOptions.OperationTimeout"/>, with the failure told apart as above.</summary>
    public async Task AwaitAsync(Task call, RedisShard shard, string target, string what, CancellationToken cancellationToken)
    {
        try
        {
            await call.WaitAsync(options.OperationTimeout, time, cancellationToken);
        }
        catch (TimeoutException e) when (e is not RedisTimeoutException)
        {
            Log.CommandTimedOut(logger, what, target, shard.Name, options.OperationTimeout.TotalSeconds);
            throw OutcomeUnknown(target, what, $"Redis did not answer within {options.OperationTimeout.TotalSeconds:0.###} s", e);
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

    public static bool IsRedisFailure(Exception e) => e is RedisException or TimeoutException or ObjectDisposedException;

    // Clients see this message: it says what failed, not where Redis runs (the log has that).
    public static PubSubException Unavailable(string target, string what, Exception? cause) =>
        new(PubSubErrorCodes.Unavailable, $"Redis is unreachable, so the broker could not {what} '{target}'.", cause);

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

    private static partial class Log
    {
        [LoggerMessage(5, LogLevel.Warning, "Redis did not answer within {Seconds} s to {What} '{Target}' (Redis {Shard}).")]
        public static partial void CommandTimedOut(ILogger logger, string what, string target, string shard, double seconds);
    }
}
