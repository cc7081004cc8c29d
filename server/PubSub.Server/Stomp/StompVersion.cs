namespace PubSub.Stomp;

/// <summary>A STOMP protocol version; the three differ only in how header values are escaped.</summary>
internal enum StompVersion : byte
{
    V10,
    V11,
    V12,
}

/// <summary>The names STOMP gives its versions, in the <c>accept-version</c> header and in WebSocket subprotocols.</summary>
internal static class StompVersions
{
    /// <summary>What CONNECTED and a version ERROR list: every version the server speaks.</summary>
    public const string Supported = "1.0,1.1,1.2";

    /// <summary>The WebSocket subprotocols that select STOMP, as @stomp/stompjs and Spring name them.</summary>
    public static IReadOnlyList<string> Subprotocols { get; } = ["v12.stomp", "v11.stomp", "v10.stomp"];

    public static bool IsSubprotocol(string subprotocol) => Subprotocols.Contains(subprotocol, StringComparer.Ordinal);

    public static string Name(StompVersion version) => version switch
    {
        StompVersion.V10 => "1.0",
        StompVersion.V11 => "1.1",
        _ => "1.2",
    };

    /// <summary>
    /// The highest version of a CONNECT frame's <c>accept-version</c> that the server speaks; a
    /// frame without the header is 1.0 (the spec's rule for clients that predate it).
    /// </summary>
    public static StompVersion? Negotiate(string? acceptVersion)
    {
        if (acceptVersion is null)
        {
            return StompVersion.V10;
        }
        StompVersion? best = null;
        foreach (var offered in acceptVersion.Split(',', StringSplitOptions.TrimEntries))
        {
            StompVersion? version = offered switch
            {
                "1.0" => StompVersion.V10,
                "1.1" => StompVersion.V11,
                "1.2" => StompVersion.V12,
                _ => null,
            };
            if (version is { } known && (best is null || known > best))
            {
                best = known;
            }
        }
        return best;
    }

    /// <summary>
    /// Whether header names and values of <paramref name="command"/> are escaped in <paramref name="version"/>:
    /// never in 1.0, and never in CONNECT, STOMP and CONNECTED frames, which must stay readable by
    /// 1.0 peers before the version is known.
    /// </summary>
    public static bool Escapes(StompVersion version, string command) =>
        version != StompVersion.V10 && command is not (StompCommands.Connect or StompCommands.Stomp or StompCommands.Connected);
}

/// <summary>The commands of STOMP 1.2, client and server.</summary>
internal static class StompCommands
{
    public const string Connect = "CONNECT";
    public const string Stomp = "STOMP";
    public const string Connected = "CONNECTED";
    public const string Send = "SEND";
    public const string Subscribe = "SUBSCRIBE";
    public const string Unsubscribe = "UNSUBSCRIBE";
    public const string Ack = "ACK";
    public const string Nack = "NACK";
    public const string Begin = "BEGIN";
    public const string Commit = "COMMIT";
    public const string Abort = "ABORT";
    public const string Disconnect = "DISCONNECT";
    public const string Message = "MESSAGE";
    public const string Receipt = "RECEIPT";
    public const string Error = "ERROR";
}
