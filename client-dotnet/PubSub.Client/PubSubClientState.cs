namespace PubSub.Client;

/// <summary>Where a <see cref="PubSubClient"/> is in its life.</summary>
public enum PubSubClientState
{
    /// <summary>Not connected and not trying: before <see cref="PubSubClient.ConnectAsync"/>, or after it failed or was cancelled.</summary>
    Disconnected,

    /// <summary><see cref="PubSubClient.ConnectAsync"/> is negotiating and trying transports.</summary>
    Connecting,

    /// <summary>A session is open; requests go out at once.</summary>
    Connected,

    /// <summary>The connection was lost; the client is reconnecting and will recover every subscription.</summary>
    Reconnecting,

    /// <summary>
    /// The connection ended for good: the server said not to reconnect (codes 4500–4999), the
    /// reconnect policy gave up, or the client was disposed. Subscriptions have ended.
    /// <see cref="PubSubClient.ConnectAsync"/> may start over unless the client was disposed.
    /// </summary>
    Closed,
}
