namespace PubSub.Client;

/// <summary>
/// Exponential backoff with full jitter: the n-th delay (n from 0) is uniform in
/// [0, min(<see cref="MaxDelay"/>, <see cref="InitialDelay"/> × 2^n)). Full jitter spreads the
/// reconnects of many clients that lost the same server, so they do not come back in one wave
/// (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/). The same rule as
/// the JavaScript client.
/// </summary>
public sealed class ExponentialBackoffReconnectPolicy : IReconnectPolicy
{
    /// <summary>The default <see cref="InitialDelay"/>: 1 s.</summary>
    public static readonly TimeSpan DefaultInitialDelay = TimeSpan.FromSeconds(1);

    /// <summary>The default <see cref="MaxDelay"/>: 30 s.</summary>
    public static readonly TimeSpan DefaultMaxDelay = TimeSpan.FromSeconds(30);

    private readonly Func<double> _random;

    /// <param name="initialDelay">The cap of the first delay. Default 1 s.</param>
    /// <param name="maxDelay">The largest cap. Default 30 s.</param>
    /// <param name="maxAttempts">How many attempts before giving up; null (the default) never gives up.</param>
    public ExponentialBackoffReconnectPolicy(TimeSpan? initialDelay = null, TimeSpan? maxDelay = null, int? maxAttempts = null)
        : this(initialDelay, maxDelay, maxAttempts, Random.Shared.NextDouble)
    {
    }

    internal ExponentialBackoffReconnectPolicy(TimeSpan? initialDelay, TimeSpan? maxDelay, int? maxAttempts, Func<double> random)
    {
        InitialDelay = initialDelay ?? DefaultInitialDelay;
        MaxDelay = maxDelay ?? DefaultMaxDelay;
        if (InitialDelay <= TimeSpan.Zero || MaxDelay < InitialDelay)
        {
            throw new ArgumentOutOfRangeException(nameof(initialDelay), $"Backoff needs 0 < initialDelay <= maxDelay; got {InitialDelay} and {MaxDelay}.");
        }
        if (maxAttempts is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxAttempts), maxAttempts, "maxAttempts must be null (never give up) or at least 0.");
        }
        MaxAttempts = maxAttempts;
        _random = random;
    }

    /// <summary>The cap of the first delay.</summary>
    public TimeSpan InitialDelay { get; }

    /// <summary>The largest cap.</summary>
    public TimeSpan MaxDelay { get; }

    /// <summary>How many attempts before giving up; null never gives up.</summary>
    public int? MaxAttempts { get; }

    /// <inheritdoc/>
    public TimeSpan? NextDelay(ReconnectContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.PreviousAttempts >= MaxAttempts)
        {
            return null;
        }
        // 2^n overflows long after 62 doublings; by then the cap is MaxDelay anyway.
        var exponent = Math.Min(context.PreviousAttempts, 62);
        var cap = InitialDelay.Ticks * Math.Pow(2, exponent);
        var capped = Math.Min(MaxDelay.Ticks, cap);
        return TimeSpan.FromTicks((long)(_random() * capped));
    }
}
