namespace PubSub.Client;

/// <summary>The arguments of <see cref="PubSubClient.StateChanged"/>.</summary>
public sealed class PubSubStateChangedEventArgs : EventArgs
{
    internal PubSubStateChangedEventArgs(PubSubClientState previousState, PubSubClientState state, PubSubTransport? transport, string? sessionId, Exception? error)
    {
        PreviousState = previousState;
        State = state;
        Transport = transport;
        SessionId = sessionId;
        Error = error;
    }

    /// <summary>The state before the change.</summary>
    public PubSubClientState PreviousState { get; }

    /// <summary>The new state.</summary>
    public PubSubClientState State { get; }

    /// <summary>The transport in use, when <see cref="State"/> is <see cref="PubSubClientState.Connected"/>.</summary>
    public PubSubTransport? Transport { get; }

    /// <summary>The server session's id, when <see cref="State"/> is <see cref="PubSubClientState.Connected"/>.</summary>
    public string? SessionId { get; }

    /// <summary>Why the connection was lost or closed, when it was not the application's doing.</summary>
    public Exception? Error { get; }

    /// <summary>
    /// The disconnect code when the server ended the session (a <c>disconnect</c> frame or a
    /// WebSocket close code, docs/protocol.md section 2.8), such as 4000 (the node is shutting
    /// down) or 4500 (the application disconnected the client for good); null otherwise.
    /// </summary>
    public int? DisconnectCode => (Error as PubSubDisconnectedException)?.DisconnectCode;

    /// <summary>The server's reason that came with <see cref="DisconnectCode"/>; null when the server did not end the session.</summary>
    public string? DisconnectReason => (Error as PubSubDisconnectedException)?.Reason;

    /// <summary>Whether the client reconnects by itself after this change (it is <see cref="PubSubClientState.Reconnecting"/>).</summary>
    public bool WillReconnect => State == PubSubClientState.Reconnecting;
}
