namespace PubSub.Client;

/// <summary>
/// The server ended the session with a disconnect code (docs/protocol.md, section 2.8), in a
/// <c>disconnect</c> frame or a WebSocket close. Codes 4000–4499 allow a reconnect (the client
/// does it by itself); 4500–4999 do not, and the client closes.
/// </summary>
public sealed class PubSubDisconnectedException : PubSubException
{
    /// <summary>Creates the exception for a disconnect code and reason.</summary>
    public PubSubDisconnectedException(int disconnectCode, string reason, bool reconnect)
        : base(PubSubErrorCodes.Disconnected, Describe(disconnectCode, reason))
    {
        DisconnectCode = disconnectCode;
        Reason = reason;
        Reconnect = reconnect;
        IsTerminal = !reconnect;
    }

    /// <summary>The disconnect code, such as 4001 (slow consumer) or 4500 (disconnected by the application).</summary>
    public int DisconnectCode { get; }

    /// <summary>The server's reason, in words.</summary>
    public string Reason { get; }

    /// <summary>Whether the server allows a reconnect.</summary>
    public bool Reconnect { get; }

    private static string Describe(int code, string reason) =>
        string.IsNullOrEmpty(reason) ? $"The server ended the session ({code})." : $"The server ended the session ({code}: {reason})";
}
