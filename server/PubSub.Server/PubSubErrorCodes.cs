namespace PubSub;

/// <summary>The error codes of protocol v1 (docs/protocol.md, section 2.7).</summary>
public static class PubSubErrorCodes
{
    /// <summary>Malformed JSON, a missing or ill-typed field, a bad cursor or ack.</summary>
    public const string BadRequest = "bad_request";

    /// <summary>A frame whose type the server does not know.</summary>
    public const string UnknownType = "unknown_type";

    /// <summary>A message or body over the size limit.</summary>
    public const string MessageTooLarge = "message_too_large";

    /// <summary>A channel name that is empty, too long or uses a character outside the allowed set.</summary>
    public const string InvalidChannel = "invalid_channel";

    /// <summary>No channel template matches the name.</summary>
    public const string UnknownChannel = "unknown_channel";

    /// <summary>The session is already subscribed to the channel.</summary>
    public const string AlreadySubscribed = "already_subscribed";

    /// <summary>The session is not subscribed to the channel.</summary>
    public const string NotSubscribed = "not_subscribed";

    /// <summary>Not allowed; also the default code of a rejection by an application hook.</summary>
    public const string Forbidden = "forbidden";

    /// <summary>The session has reached its subscription limit.</summary>
    public const string TooManySubscriptions = "too_many_subscriptions";

    /// <summary>A history request from a position in an epoch that is no longer current.</summary>
    public const string EpochMismatch = "epoch_mismatch";

    /// <summary>The session is unknown, expired or closed: reconnect and recover.</summary>
    public const string SessionNotFound = "session_not_found";

    /// <summary>The server API was called without a valid API key.</summary>
    public const string Unauthorized = "unauthorized";

    /// <summary>The broker is unreachable and the request was not carried out: it is safe to send it again.</summary>
    public const string Unavailable = "unavailable";

    /// <summary>
    /// The broker did not confirm the request in time (it did not answer, or its connection broke
    /// while the request was on its way): it may or may not have taken effect. Sending a publish
    /// again may publish it twice; read the channel's history to find out.
    /// </summary>
    public const string Timeout = "timeout";

    /// <summary>The node holds as many sessions as it may (<see cref="PubSubLimits.MaxConnections"/>); another node may take the client.</summary>
    public const string OverCapacity = "over_capacity";

    /// <summary>The user or client address holds as many sessions on the node as it may.</summary>
    public const string TooManyConnections = "too_many_connections";

    /// <summary>Connects or publishes arrive faster than the limit allows; the same request succeeds after a pause.</summary>
    public const string RateLimited = "rate_limited";

    /// <summary>The channel has as many subscribers on the node as it may.</summary>
    public const string TooManySubscribers = "too_many_subscribers";

    /// <summary>A <c>presence</c> or <c>presence_stats</c> request for a channel whose template does not keep presence.</summary>
    public const string PresenceDisabled = "presence_disabled";

    /// <summary>An unexpected server fault.</summary>
    public const string Internal = "internal";

    /// <summary>
    /// Whether a failure may pass by itself (the broker is down or slow, or a fault), so the same
    /// request can succeed later; every other code is a refusal that asking again will not change.
    /// The rule of protocol/error-codes.json (<c>retry: later</c>), which the clients follow too.
    /// </summary>
    internal static bool IsTransient(string code) =>
        code is Unavailable or Timeout or Internal or OverCapacity or TooManyConnections or RateLimited or TooManySubscribers;
}
