namespace PubSub.Client.Transports;

/// <summary>The transports' names in the protocol (negotiate's list, the <c>connected</c> frame).</summary>
internal static class TransportNames
{
    public const string WebSocket = "websocket";
    public const string ServerSentEvents = "sse";
    public const string LongPolling = "long-polling";

    public static string Of(PubSubTransport transport) => transport switch
    {
        PubSubTransport.WebSocket => WebSocket,
        PubSubTransport.ServerSentEvents => ServerSentEvents,
        PubSubTransport.LongPolling => LongPolling,
        _ => throw new ArgumentOutOfRangeException(nameof(transport), transport, null),
    };
}
