namespace PubSub.Client.Tests.Connections;

public sealed class ReconnectPolicyTests
{
    private static ReconnectContext Attempt(int previous) => new(previous, TimeSpan.Zero, new PubSubException("x", "x"));

    [Fact]
    public void Delays_are_full_jitter_under_a_cap_that_doubles_up_to_the_maximum()
    {
        var highest = new ExponentialBackoffReconnectPolicy(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), null, () => 0.999999);
        var lowest = new ExponentialBackoffReconnectPolicy(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), null, () => 0.0);

        var caps = Enumerable.Range(0, 8).Select(n => highest.NextDelay(Attempt(n))!.Value.TotalSeconds).ToArray();

        Assert.Equal([1, 2, 4, 8, 16, 30, 30, 30], caps.Select(c => Math.Round(c)));
        Assert.All(caps, (c, n) => Assert.True(c < Math.Min(30, Math.Pow(2, n)), $"delay {n} is {c} s"));
        Assert.Equal(TimeSpan.Zero, lowest.NextDelay(Attempt(5)));
        Assert.Equal(TimeSpan.FromSeconds(30) * 0.999999, highest.NextDelay(Attempt(int.MaxValue)));
    }

    [Fact]
    public void Random_delays_stay_within_their_bounds()
    {
        var policy = new ExponentialBackoffReconnectPolicy(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(2));

        for (var attempt = 0; attempt < 20; attempt++)
        {
            var cap = TimeSpan.FromMilliseconds(Math.Min(2000, 100 * Math.Pow(2, attempt)));
            for (var i = 0; i < 50; i++)
            {
                var delay = policy.NextDelay(Attempt(attempt))!.Value;
                Assert.InRange(delay, TimeSpan.Zero, cap);
            }
        }
    }

    [Fact]
    public void Gives_up_after_the_maximum_attempts()
    {
        var policy = new ExponentialBackoffReconnectPolicy(maxAttempts: 2);

        Assert.NotNull(policy.NextDelay(Attempt(0)));
        Assert.NotNull(policy.NextDelay(Attempt(1)));
        Assert.Null(policy.NextDelay(Attempt(2)));
    }

    [Fact]
    public void Bad_settings_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ExponentialBackoffReconnectPolicy(TimeSpan.Zero));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ExponentialBackoffReconnectPolicy(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ExponentialBackoffReconnectPolicy(maxAttempts: -1));
    }
}
