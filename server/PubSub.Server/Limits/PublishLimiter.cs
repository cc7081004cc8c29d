using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using PubSub.Diagnostics;
using PubSub.Sessions;

namespace PubSub.Limits;

/// <summary>
/// How fast clients may publish (<see cref="PubSubLimits.PublishesPerSecondPerSession"/>,
/// <see cref="PubSubLimits.PublishesPerSecondPerUser"/>): a token bucket per session and one per
/// signed-in user over all their sessions on this node. Both are partitions of System.Threading.RateLimiting's
/// partitioned limiters, which replenish every bucket from one timer and drop idle ones, so a
/// session that never publishes costs nothing. A refused
/// publish is answered with <c>rate_limited</c>; the session goes on. The server API and in-process
/// publishers are the application's own, and not limited here.
/// </summary>
internal sealed class PublishLimiter : IDisposable
{
    private readonly PubSubLimits _limits;
    private readonly PubSubMetrics _metrics;
    private readonly PartitionedRateLimiter<string>? _perSession;
    private readonly PartitionedRateLimiter<string>? _perUser;

    public PublishLimiter(IOptions<PubSubOptions> options, PubSubMetrics metrics)
    {
        _limits = options.Value.Limits;
        _metrics = metrics;
        if (_limits.PublishesPerSecondPerSession > 0)
        {
            _perSession = TokenBuckets.PerKey(_limits.PublishesPerSecondPerSession, _limits.PublishBurst);
        }
        if (_limits.PublishesPerSecondPerUser > 0)
        {
            _perUser = TokenBuckets.PerKey(_limits.PublishesPerSecondPerUser, _limits.PublishBurst);
        }
    }

    /// <summary>Takes a token for one publish of <paramref name="session"/>, or throws <c>rate_limited</c>.</summary>
    public void Acquire(Session session)
    {
        if (_perSession is not null)
        {
            using var permit = _perSession.AttemptAcquire(session.Id);
            if (!permit.IsAcquired)
            {
                throw Refuse(LimitNames.PublishesPerSession, $"Publishing too fast: at most {_limits.PublishesPerSecondPerSession} per second per connection.");
            }
        }
        if (_perUser is not null && !string.IsNullOrEmpty(session.UserKey))
        {
            using var permit = _perUser.AttemptAcquire(session.UserKey);
            if (!permit.IsAcquired)
            {
                throw Refuse(LimitNames.PublishesPerUser, $"Publishing too fast: at most {_limits.PublishesPerSecondPerUser} per second per user.");
            }
        }
    }

    public void Dispose()
    {
        _perSession?.Dispose();
        _perUser?.Dispose();
    }

    private PubSubException Refuse(string limit, string message)
    {
        _metrics.LimitRefused(limit);
        return new PubSubException(PubSubErrorCodes.RateLimited, message);
    }
}
