namespace PubSub;

/// <summary>
/// A place in a channel's stream of publications: the offset of a publication within one epoch.
/// Offsets grow by one per publication; the epoch changes when the channel's history is lost,
/// and offsets then start again from 1.
/// </summary>
public readonly record struct StreamPosition(long Offset, string Epoch)
{
    /// <summary>
    /// The largest offset the protocol carries (2^53 - 1): it survives a JavaScript number, and
    /// Redis's Lua computes with it exactly (its numbers are doubles).
    /// </summary>
    internal const long MaxOffset = (1L << 53) - 1;

    internal static bool IsValidOffset(long offset) => offset is >= 0 and <= MaxOffset;

    /// <summary><c>{epoch}:{offset}</c>.</summary>
    public override string ToString() => $"{Epoch}:{Offset}";
}
