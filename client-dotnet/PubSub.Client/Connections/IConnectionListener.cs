using PubSub.Client.Protocol;

namespace PubSub.Client.Connections;

/// <summary>What a <see cref="Connection"/> hands to its client. Called from the receive loop, one call at a time, in frame order.</summary>
internal interface IConnectionListener
{
    /// <summary>A frame for the client: reply, message, error, subscribed, unsubscribed, pong or a type this client does not know.</summary>
    void OnFrame(Connection connection, ServerFrame frame);

    /// <summary>The server sent something that is not valid protocol; the connection is dropped right after.</summary>
    void OnBadFrame(Connection connection, PubSubException error);

    /// <summary>The server refused a whole /send batch (an HTTP error) while the session goes on.</summary>
    void OnBatchRefused(IReadOnlyList<OutboundRequest> requests, PubSubException error);
}

/// <summary>How an open connection ended.</summary>
/// <param name="Error">Why.</param>
/// <param name="Reconnect">False when the server said not to reconnect (codes 4500–4999), or the client closed it.</param>
internal sealed record ConnectionClosed(Exception Error, bool Reconnect);

/// <summary>The settings of one connection.</summary>
internal sealed record ConnectionSettings(TimeSpan HeartbeatMargin, int MaxBatchBytes, TimeProvider Time);
