namespace PubSub.Client;

/// <summary>Where a <see cref="PubSubSubscription"/> is in its life.</summary>
public enum PubSubSubscriptionState
{
    /// <summary>Waiting for the server's first confirmation.</summary>
    Subscribing,

    /// <summary>Confirmed; it stays so across reconnects, which subscribe it again by themselves.</summary>
    Subscribed,

    /// <summary>Ended by the application (unsubscribed or disposed), by a refusal of its subscribe, or because the client closed.</summary>
    Ended,

    /// <summary>Ended by the server (an <c>unsubscribed</c> frame; <see cref="PubSubSubscription.Unsubscribed"/> says why). The client does not subscribe it again.</summary>
    EndedByServer,
}
