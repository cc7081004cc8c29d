namespace PubSub.Client;

/// <summary>The arguments of <see cref="PubSubSubscription.Missed"/>.</summary>
public sealed class PubSubMissedEventArgs : EventArgs
{
    internal PubSubMissedEventArgs(string channel, StreamPosition? from, StreamPosition position)
    {
        Channel = channel;
        From = from;
        Position = position;
    }

    /// <summary>The subscription's channel.</summary>
    public string Channel { get; }

    /// <summary>The position of the last publication delivered before the gap; null when none was.</summary>
    public StreamPosition? From { get; }

    /// <summary>Where the stream continues: the next message comes after this position.</summary>
    public StreamPosition Position { get; }
}
