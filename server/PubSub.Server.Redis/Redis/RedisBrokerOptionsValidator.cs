using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace PubSub.Redis;

/// <summary>Checks the Redis broker's options at start-up, so a bad configuration fails loudly and at once.</summary>
internal sealed class RedisBrokerOptionsValidator : IValidateOptions<RedisBrokerOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisBrokerOptions options)
    {
        var failures = new List<string>();
        var hasSingle = !string.IsNullOrWhiteSpace(options.Configuration);
        if (hasSingle && options.Shards.Count > 0)
        {
            failures.Add("Set either Configuration (one Redis) or Shards (several), not both.");
        }
        else if (!hasSingle && options.Shards.Count == 0)
        {
            failures.Add("No Redis is configured: set Configuration (for example '127.0.0.1:6379') or list the instances in Shards.");
        }
        for (var i = 0; i < options.Shards.Count; i++)
        {
            ValidateConfiguration(options.Shards[i], $"Shards[{i}]", failures);
        }
        if (hasSingle)
        {
            ValidateConfiguration(options.Configuration!, nameof(options.Configuration), failures);
        }
        if (options.KeyPrefix is null)
        {
            failures.Add("KeyPrefix must not be null (it may be empty).");
        }
        else if (options.KeyPrefix.AsSpan().IndexOfAny("{}") >= 0)
        {
            // The first brace of a key starts its Redis Cluster hash tag: it must be the channel's.
            failures.Add($"KeyPrefix ('{options.KeyPrefix}') must not contain '{{' or '}}'.");
        }
        if (options.Mode == RedisMode.Cluster && options.Shards.Count > 0)
        {
            failures.Add("Mode Cluster takes one Configuration (any nodes of the cluster), not Shards: a cluster spreads channels over its own shards.");
        }
        RequirePositive(options.OperationTimeout, nameof(options.OperationTimeout), failures);
        RequirePositive(options.ConnectTimeout, nameof(options.ConnectTimeout), failures);
        RequirePositive(options.ReconnectInterval, nameof(options.ReconnectInterval), failures);
        RequirePositive(options.RecoveryRetryInterval, nameof(options.RecoveryRetryInterval), failures);
        RequirePositive(options.NodeHeartbeatInterval, nameof(options.NodeHeartbeatInterval), failures);
        RequirePositive(options.StreamIdleTimeout, nameof(options.StreamIdleTimeout), failures);
        RequirePositive(options.EmptyStreamIdleTimeout, nameof(options.EmptyStreamIdleTimeout), failures);
        if (options.NodeTimeout <= options.NodeHeartbeatInterval)
        {
            failures.Add($"NodeTimeout ({options.NodeTimeout}) must be longer than NodeHeartbeatInterval ({options.NodeHeartbeatInterval}), or live nodes would count as dead between heartbeats.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateConfiguration(string configuration, string name, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(configuration))
        {
            failures.Add($"{name} is empty.");
            return;
        }
        try
        {
            if (ConfigurationOptions.Parse(configuration).EndPoints.Count == 0)
            {
                failures.Add($"{name} ('{Redact(configuration)}') names no Redis endpoint such as '127.0.0.1:6379'.");
            }
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            failures.Add($"{name} ('{Redact(configuration)}') is not a valid Redis configuration string: {e.Message}");
        }
    }

    /// <summary>Configuration strings may hold a password; error messages must not.</summary>
    internal static string Redact(string configuration) =>
        string.Join(',', configuration.Split(',').Select(part =>
            part.TrimStart().StartsWith("password", StringComparison.OrdinalIgnoreCase) ? "password=***" : part));

    private static void RequirePositive(TimeSpan value, string name, List<string> failures)
    {
        if (value <= TimeSpan.Zero)
        {
            failures.Add($"{name} must be positive (it is {value}).");
        }
    }
}
