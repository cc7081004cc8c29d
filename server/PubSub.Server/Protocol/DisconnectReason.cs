namespace PubSub.Protocol;

/// <summary>Why a session ended (docs/protocol.md, section 2.8). Codes 4000–4499 allow a reconnect.</summary>
internal sealed record DisconnectReason(int Code, string Reason)
{
    public bool Reconnect => Code is >= 4000 and < 4500;

    public static readonly DisconnectReason Shutdown = new(4000, "The node is shutting down.");
    public static readonly DisconnectReason SlowConsumer = new(4001, "The client did not read fast enough; reconnect and recover.");
    public static readonly DisconnectReason HeartbeatTimeout = new(4002, "No frame from the client after a ping.");
    public static readonly DisconnectReason SessionClosed = new(4003, "The server closed the session.");
    public static readonly DisconnectReason TokenExpired = new(4004, "The credentials the session was opened with expired; connect again with new ones.");
    public static readonly DisconnectReason Kicked = new(4500, "The application disconnected the client.");
    public static readonly DisconnectReason ProtocolViolation = new(4501, "Protocol violation.");

    /// <summary>
    /// RFC 6455's 1009 (message too big): a message on a compressed WebSocket inflated past the
    /// limit, and the server stopped reading it rather than inflate the rest (docs/protocol.md, 3.2).
    /// </summary>
    public static DisconnectReason InflatedTooLarge(int maxSize) =>
        new(1009, $"A compressed message inflated past {maxSize} bytes; the server stopped reading it.");
}
