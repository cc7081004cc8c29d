namespace PubSub.Client;

/// <summary>The arguments of <see cref="PubSubClient.ServerSubscribed"/>: a subscription the server made for the client.</summary>
public sealed class PubSubServerSubscribedEventArgs : EventArgs
{
    internal PubSubServerSubscribedEventArgs(PubSubSubscription subscription) => Subscription = subscription;

    /// <summary>The new subscription; attach handlers and start reading it here.</summary>
    public PubSubSubscription Subscription { get; }

    /// <summary>Its channel.</summary>
    public string Channel => Subscription.Channel;
}
