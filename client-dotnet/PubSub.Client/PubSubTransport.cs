namespace PubSub.Client;

/// <summary>The transports a client can use (docs/protocol.md, section 3).</summary>
public enum PubSubTransport
{
    /// <summary>Both directions on one WebSocket (subprotocol <c>pubsub.json</c>).</summary>
    WebSocket,

    /// <summary>Server-Sent Events for frames from the server; <c>POST /send</c> for frames to it.</summary>
    ServerSentEvents,

    /// <summary>Long-polling for frames from the server; <c>POST /send</c> for frames to it.</summary>
    LongPolling,
}
