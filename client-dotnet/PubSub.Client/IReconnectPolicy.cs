namespace PubSub.Client;

/// <summary>
/// Decides whether and when the client reconnects after losing a connection (as SignalR's
/// <c>IRetryPolicy</c>). The client asks again after every failed attempt, until a connection
/// succeeds (the count starts over) or the policy returns null (the client closes).
/// </summary>
public interface IReconnectPolicy
{
    /// <summary>The delay before the next attempt, or null to stop reconnecting.</summary>
    TimeSpan? NextDelay(ReconnectContext context);
}

/// <summary>What a <see cref="IReconnectPolicy"/> knows when it decides.</summary>
public sealed class ReconnectContext
{
    internal ReconnectContext(int previousAttempts, TimeSpan elapsed, Exception reason)
    {
        PreviousAttempts = previousAttempts;
        Elapsed = elapsed;
        Reason = reason;
    }

    /// <summary>How many reconnect attempts failed since the connection was lost (0 before the first).</summary>
    public int PreviousAttempts { get; }

    /// <summary>How long ago the connection was lost.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>Why the connection was lost, or why the last attempt failed.</summary>
    public Exception Reason { get; }
}
