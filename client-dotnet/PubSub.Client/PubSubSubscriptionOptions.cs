namespace PubSub.Client;

/// <summary>Options of one subscription (<see cref="PubSubClient.SubscribeAsync(string, PubSubSubscriptionOptions?, CancellationToken)"/>).</summary>
public sealed class PubSubSubscriptionOptions
{
    /// <summary>
    /// Resume from this position (one saved from <see cref="PubSubSubscription.Position"/> or a
    /// message): the publications after it are delivered first, if the server's history still has
    /// them. Default: none, the subscription starts with the next publication.
    /// </summary>
    public StreamPosition? Since { get; set; }
}
