using System.Threading.RateLimiting;

namespace PubSub.Limits;

/// <summary>
/// Token buckets from a rate per second and a burst, in System.Threading.RateLimiting's terms.
/// A rate under one per second becomes one token per longer period, so 0.1/s is one every 10 s.
/// </summary>
internal static class TokenBuckets
{
    public static TokenBucketRateLimiterOptions Options(double perSecond, int burst)
    {
        var (tokens, period) = perSecond >= 1
            ? ((int)Math.Round(perSecond), TimeSpan.FromSeconds(1))
            : (1, TimeSpan.FromSeconds(1 / perSecond));
        return new TokenBucketRateLimiterOptions
        {
            TokenLimit = burst > 0 ? burst : Math.Max(1, tokens),
            TokensPerPeriod = tokens,
            ReplenishmentPeriod = period,
            // A refusal is immediate: a client that is over the limit waits on its own side.
            QueueLimit = 0,
            AutoReplenishment = true,
        };
    }

    /// <summary>One bucket per key (an address, a user), idle ones dropped by the limiter itself.</summary>
    public static PartitionedRateLimiter<string> PerKey(double perSecond, int burst)
    {
        var options = Options(perSecond, burst);
        return PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetTokenBucketLimiter(key, _ => options));
    }

    /// <summary>How long until a refused caller may try again: the limiter's hint, else one period.</summary>
    public static TimeSpan RetryAfter(RateLimitLease lease, TokenBucketRateLimiterOptions options) =>
        lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : options.ReplenishmentPeriod;

    /// <summary>A <c>Retry-After</c> header's value: whole seconds, rounded up, at least one.</summary>
    public static string RetryAfterHeader(TimeSpan after) =>
        Math.Max(1, (int)Math.Ceiling(after.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
