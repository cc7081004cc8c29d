namespace PubSub;

/// <summary>The transports a node offers. Clients try them in their own order, skipping those not offered.</summary>
[Flags]
public enum PubSubTransports
{
    /// <summary>None (not a valid configuration: a node offers at least one).</summary>
    None = 0,

    /// <summary>WebSocket: <c>{prefix}/ws</c>.</summary>
    WebSocket = 1,

    /// <summary>Server-Sent Events: <c>{prefix}/sse</c>, with <c>{prefix}/send</c>.</summary>
    ServerSentEvents = 2,

    /// <summary>Long-polling: <c>{prefix}/poll</c>, with <c>{prefix}/send</c>.</summary>
    LongPolling = 4,

    /// <summary>Every transport.</summary>
    All = WebSocket | ServerSentEvents | LongPolling,
}
