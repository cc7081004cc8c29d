namespace PubSub.Client;

/// <summary>The arguments of <see cref="PubSubSubscription.Unsubscribed"/>: the server ended the subscription (an <c>unsubscribed</c> frame).</summary>
public sealed class PubSubUnsubscribedEventArgs : EventArgs
{
    internal PubSubUnsubscribedEventArgs(string channel, string code, string reason)
    {
        Channel = channel;
        Code = code;
        Reason = reason;
    }

    /// <summary>The channel.</summary>
    public string Channel { get; }

    /// <summary>The server's code: <c>unsubscribed</c> by default, or the application's own (<c>banned</c>, ...).</summary>
    public string Code { get; }

    /// <summary>The server's reason, in words; empty when it gave none.</summary>
    public string Reason { get; }
}
