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
}
