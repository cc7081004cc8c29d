using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using PubSub.Diagnostics;

namespace PubSub.Limits;

/// <summary>A limit's refusal: the error code, what the client is told, and when it may try again.</summary>
internal readonly record struct LimitRefusal(string Code, string Message, TimeSpan? RetryAfter);

/// <summary>
/// Admits new sessions under <see cref="PubSubLimits"/>: how many this node, one user and one
/// address hold at once, and how fast one address may open them. A session holds its place
/// (<see cref="ConnectionLease"/>) until it closes, whichever transport and however many requests
/// it spans. The counts are exact (one lock, taken once per connect, never on the message path).
/// </summary>
internal sealed class ConnectionLimiter : IDisposable
{
    private readonly PubSubLimits _limits;
    private readonly PubSubMetrics _metrics;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, int> _perUser = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _perAddress = new(StringComparer.Ordinal);
    private readonly TokenBucketRateLimiterOptions? _connectOptions;
    private readonly PartitionedRateLimiter<string>? _connects;
    private int _total;

    public ConnectionLimiter(IOptions<PubSubOptions> options, PubSubMetrics metrics)
    {
        _limits = options.Value.Limits;
        _metrics = metrics;
        if (_limits.ConnectsPerSecondPerIp > 0)
        {
            _connectOptions = TokenBuckets.Options(_limits.ConnectsPerSecondPerIp, _limits.ConnectBurstPerIp);
            _connects = TokenBuckets.PerKey(_limits.ConnectsPerSecondPerIp, _limits.ConnectBurstPerIp);
        }
    }

    private bool CountsAnything => _limits.MaxConnections > 0 || _limits.MaxConnectionsPerUser > 0 || _limits.MaxConnectionsPerIp > 0;

    /// <summary>
    /// Takes a place for a new session of <paramref name="userKey"/> (empty: anonymous, counted by
    /// address only) from <paramref name="address"/>, or says which limit refuses it.
    /// </summary>
    public bool TryAdmit(string? userKey, string address, out ConnectionLease lease, out LimitRefusal refusal)
    {
        lease = ConnectionLease.None;
        if (_connects is not null)
        {
            using var permit = _connects.AttemptAcquire(address);
            if (!permit.IsAcquired)
            {
                refusal = Refuse(LimitNames.ConnectsPerIp, PubSubErrorCodes.RateLimited,
                    $"Too many connects from this address: at most {_limits.ConnectsPerSecondPerIp} per second.",
                    TokenBuckets.RetryAfter(permit, _connectOptions!));
                return false;
            }
        }
        if (!CountsAnything)
        {
            refusal = default;
            return true;
        }

        var user = string.IsNullOrEmpty(userKey) ? null : userKey;
        lock (_gate)
        {
            if (_limits.MaxConnections > 0 && _total >= _limits.MaxConnections)
            {
                refusal = Refuse(LimitNames.ConnectionsPerNode, PubSubErrorCodes.OverCapacity,
                    $"This node holds as many connections as it may ({_limits.MaxConnections}); try again, another node may take it.", null);
                return false;
            }
            if (user is not null && _limits.MaxConnectionsPerUser > 0 && _perUser.GetValueOrDefault(user) >= _limits.MaxConnectionsPerUser)
            {
                refusal = Refuse(LimitNames.ConnectionsPerUser, PubSubErrorCodes.TooManyConnections,
                    $"This user holds as many connections to this node as it may ({_limits.MaxConnectionsPerUser}).", null);
                return false;
            }
            if (_limits.MaxConnectionsPerIp > 0 && _perAddress.GetValueOrDefault(address) >= _limits.MaxConnectionsPerIp)
            {
                refusal = Refuse(LimitNames.ConnectionsPerIp, PubSubErrorCodes.TooManyConnections,
                    $"This address holds as many connections to this node as it may ({_limits.MaxConnectionsPerIp}).", null);
                return false;
            }
            _total++;
            Increment(_perUser, user);
            Increment(_perAddress, address);
        }
        lease = new ConnectionLease(this, user, address);
        refusal = default;
        return true;
    }

    public void Dispose() => _connects?.Dispose();

    internal void Release(string? user, string address)
    {
        lock (_gate)
        {
            _total--;
            Decrement(_perUser, user);
            Decrement(_perAddress, address);
        }
    }

    private LimitRefusal Refuse(string limit, string code, string message, TimeSpan? retryAfter)
    {
        _metrics.LimitRefused(limit);
        return new LimitRefusal(code, message, retryAfter);
    }

    private static void Increment(Dictionary<string, int> counts, string? key)
    {
        if (key is not null)
        {
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }
    }

    // Keys at zero are removed, so the tables hold only who is connected now.
    private static void Decrement(Dictionary<string, int> counts, string? key)
    {
        if (key is not null && counts.TryGetValue(key, out var count))
        {
            if (count <= 1)
            {
                counts.Remove(key);
            }
            else
            {
                counts[key] = count - 1;
            }
        }
    }
}

/// <summary>A session's place under the limits, given back once, when the session closes.</summary>
internal sealed class ConnectionLease(ConnectionLimiter? limiter, string? user, string address) : IDisposable
{
    /// <summary>The place of a session no count limit applies to.</summary>
    public static readonly ConnectionLease None = new(null, null, "");

    private int _released;

    public void Dispose()
    {
        if (limiter is not null && Interlocked.Exchange(ref _released, 1) == 0)
        {
            limiter.Release(user, address);
        }
    }
}
