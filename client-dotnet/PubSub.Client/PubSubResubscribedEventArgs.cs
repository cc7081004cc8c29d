namespace PubSub.Client;

/// <summary>The arguments of <see cref="PubSubSubscription.Resubscribed"/>.</summary>
public sealed class PubSubResubscribedEventArgs : EventArgs
{
    internal PubSubResubscribedEventArgs(string channel, StreamPosition? since, StreamPosition position, bool recovered)
    {
        Channel = channel;
        Since = since;
        Position = position;
        Recovered = recovered;
    }

    /// <summary>The subscription's channel.</summary>
    public string Channel { get; }

    /// <summary>The position the client asked to recover from (the last publication it delivered); null when it had none.</summary>
    public StreamPosition? Since { get; }

    /// <summary>
    /// When <see cref="Recovered"/>: where the missed publications end (they follow in the stream).
    /// Otherwise: the channel's position now, from which the stream continues.
    /// </summary>
    public StreamPosition Position { get; }

    /// <summary>
    /// True when the server's history covered the gap: every publication missed while disconnected
    /// follows, in order, exactly once. False when publications between <see cref="Since"/> and
    /// <see cref="Position"/> are lost to this subscription (history too short, or the channel
    /// started a new epoch): reload the state the channel feeds, if the application keeps one.
    /// </summary>
    public bool Recovered { get; }
}
