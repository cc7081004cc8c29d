namespace PubSub.Client;

/// <summary>
/// The values of <see cref="PubSubException.Code"/>: the protocol's error codes
/// (docs/protocol.md, section 2.7), which the server sends, and the client's own, for failures that
/// happen before or without a server's answer. Application hooks on the server may use codes of
/// their own, so a code may be none of these.
/// </summary>
public static class PubSubErrorCodes
{
    /// <summary>Malformed JSON, a missing or ill-typed field.</summary>
    public const string BadRequest = "bad_request";

    /// <summary>A frame type the server does not know.</summary>
    public const string UnknownType = "unknown_type";

    /// <summary>A message over the server's size limit (the client checks before sending).</summary>
    public const string MessageTooLarge = "message_too_large";

    /// <summary>An empty, too long, or ill-formed channel name.</summary>
    public const string InvalidChannel = "invalid_channel";

    /// <summary>No channel template on the server matches the name.</summary>
    public const string UnknownChannel = "unknown_channel";

    /// <summary>Subscribing to a channel this client is subscribed to already.</summary>
    public const string AlreadySubscribed = "already_subscribed";

    /// <summary>Unsubscribing from a channel the session is not subscribed to.</summary>
    public const string NotSubscribed = "not_subscribed";

    /// <summary>Not allowed by the server (client publishing disabled, a policy, or a hook).</summary>
    public const string Forbidden = "forbidden";

    /// <summary>The session holds as many subscriptions as the server allows.</summary>
    public const string TooManySubscriptions = "too_many_subscriptions";

    /// <summary>A history request from a position whose epoch is no longer current.</summary>
    public const string EpochMismatch = "epoch_mismatch";

    /// <summary>The session is unknown, expired or closed; the client reconnects and recovers by itself.</summary>
    public const string SessionNotFound = "session_not_found";

    /// <summary>The server refused the credentials.</summary>
    public const string Unauthorized = "unauthorized";

    /// <summary>The server's broker is unreachable; nothing was published.</summary>
    public const string Unavailable = "unavailable";

    /// <summary>An unexpected server fault.</summary>
    public const string Internal = "internal";

    /// <summary>The node holds as many sessions as it may; another node may take the client. The client tries again after a backoff.</summary>
    public const string OverCapacity = "over_capacity";

    /// <summary>The user or the client's address holds as many sessions on the node as it may.</summary>
    public const string TooManyConnections = "too_many_connections";

    /// <summary>Connects or publishes come faster than the node's limit allows; the same request succeeds after a pause.</summary>
    public const string RateLimited = "rate_limited";

    /// <summary>The channel has as many subscribers on the node as it may; a subscribe is asked again after a backoff.</summary>
    public const string TooManySubscribers = "too_many_subscribers";

    /// <summary>A presence request for a channel whose template keeps no presence; asking again will not help.</summary>
    public const string PresenceDisabled = "presence_disabled";

    /// <summary>Client: no reply within <see cref="PubSubClientOptions.RequestTimeout"/>, or no connection within a connect timeout.</summary>
    public const string Timeout = "timeout";

    /// <summary>Client: the connection was lost after the request went out; it may or may not have taken effect.</summary>
    public const string ConnectionLost = "connection_lost";

    /// <summary>Client: the client is closed (disposed, or ended for good) or not connected.</summary>
    public const string Closed = "closed";

    /// <summary>Client: the server sent something that is not a valid frame of the protocol.</summary>
    public const string BadFrame = "bad_frame";

    /// <summary>Client: no transport could connect.</summary>
    public const string TransportFailed = "transport_failed";

    /// <summary>Client: the server offers none of the transports the client allows.</summary>
    public const string NoTransport = "no_transport";

    /// <summary>Client: the server ended the session (<see cref="PubSubDisconnectedException"/>).</summary>
    public const string Disconnected = "disconnected";
}
