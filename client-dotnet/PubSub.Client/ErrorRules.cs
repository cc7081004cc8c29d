namespace PubSub.Client;

/// <summary>What the client does after a failure with a given error code (protocol/error-codes.json, <c>retry</c>).</summary>
internal enum RetryRule
{
    /// <summary>Asking again gets the same answer: the operation ends with the error.</summary>
    Never,

    /// <summary>The failure may pass by itself: a subscribe is asked again after a backoff.</summary>
    Later,

    /// <summary>The session is gone or not working: reconnect and recover.</summary>
    Reconnect,
}

/// <summary>
/// The protocol's rules for error and disconnect codes, in one place, so the client and its tests
/// (which compare them with protocol/) read the same facts.
/// </summary>
internal static class ErrorRules
{
    /// <summary>
    /// The retry rule of an error code. A code the protocol does not name (an application hook's
    /// own) is treated as <see cref="RetryRule.Never"/>: only the application knows it passes.
    /// </summary>
    public static RetryRule RetryOf(string code) => code switch
    {
        PubSubErrorCodes.Unavailable or PubSubErrorCodes.Timeout or PubSubErrorCodes.Internal
            or PubSubErrorCodes.OverCapacity or PubSubErrorCodes.TooManyConnections or PubSubErrorCodes.RateLimited
            or PubSubErrorCodes.TooManySubscribers => RetryRule.Later,
        PubSubErrorCodes.SessionNotFound or PubSubErrorCodes.BadFrame or PubSubErrorCodes.TransportFailed => RetryRule.Reconnect,
        _ => RetryRule.Never,
    };

    /// <summary>
    /// Whether a disconnect or WebSocket close code allows a reconnect (protocol section 2.8):
    /// 4500–4999 forbid it; 4000–4499 allow it, and RFC 6455 codes (1000, 1006 abnormal, 1011
    /// server error, ...) are network or server trouble that a reconnect may get past.
    /// </summary>
    public static bool Reconnects(int disconnectCode) => disconnectCode is not (>= 4500 and <= 4999);
}
