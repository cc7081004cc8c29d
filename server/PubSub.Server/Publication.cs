namespace PubSub;

/// <summary>One message in a channel, as the broker stored and delivered it.</summary>
public sealed record Publication(string Channel, long Offset, string Epoch, Payload Data)
{
    /// <summary>Where the publication stands in its channel.</summary>
    public StreamPosition Position => new(Offset, Epoch);
}
