namespace PubSub;

/// <summary>One message in a channel, as the broker stored and delivered it.</summary>
public sealed record Publication(string Channel, long Offset, string Epoch, Payload Data)
{
    public StreamPosition Position => new(Offset, Epoch);
}
