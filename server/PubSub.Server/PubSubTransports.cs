namespace PubSub;

/// <summary>The transports a node offers. Clients try them in their own order, skipping those not offered.</summary>
[Flags]
public enum PubSubTransports
{
    None = 0,
    WebSocket = 1,
    ServerSentEvents = 2,
    LongPolling = 4,
    All = WebSocket | ServerSentEvents | LongPolling,
}
