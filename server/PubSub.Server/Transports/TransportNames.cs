namespace PubSub.Transports;

/// <summary>The transports' names on the wire (negotiate, the <c>connected</c> frame).</summary>
internal static class TransportNames
{
    public const string WebSocket = "websocket";
    public const string ServerSentEvents = "sse";
    public const string LongPolling = "long-polling";
}
