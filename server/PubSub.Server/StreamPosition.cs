namespace PubSub;

/// <summary>
/// A place in a channel's stream of publications: the offset of a publication within one epoch.
/// Offsets grow by one per publication; the epoch changes when the channel's history is lost,
/// and offsets then start again from 1.
/// </summary>
public readonly record struct StreamPosition(long Offset, string Epoch)
{
    public override string ToString() => $"{Epoch}:{Offset}";
}
