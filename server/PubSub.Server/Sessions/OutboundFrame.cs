using PubSub.Protocol;

namespace PubSub.Sessions;

/// <summary>What a frame does to the session's subscription positions (the SSE resume cursor).</summary>
internal enum CursorEffect : byte
{
    None,
    /// <summary>The channel's position becomes <see cref="OutboundFrame.Position"/>.</summary>
    Advance,
    /// <summary>The channel leaves the cursor.</summary>
    Remove,
}

/// <summary>
/// A serialized server frame waiting in a session's outbound queue, in the session's encoding
/// (<see cref="FrameEncoding"/>). The bytes of a publication are shared by every subscriber of
/// that encoding; the struct itself is copied, never allocated.
/// </summary>
internal readonly struct OutboundFrame
{
    public OutboundFrame(ReadOnlyMemory<byte> bytes)
    {
        Bytes = bytes;
    }

    private OutboundFrame(ReadOnlyMemory<byte> bytes, string channel, StreamPosition position, CursorEffect effect, bool isPublication = false)
    {
        Bytes = bytes;
        Channel = channel;
        Position = position;
        Effect = effect;
        IsPublication = isPublication;
    }

    /// <summary>The frame, encoded.</summary>
    public ReadOnlyMemory<byte> Bytes { get; }

    public string? Channel { get; }

    public StreamPosition Position { get; }

    public CursorEffect Effect { get; }

    /// <summary>A <c>message</c> frame: a publication delivered (what the delivery metrics count).</summary>
    public bool IsPublication { get; }

    /// <summary>A frame after which the client is at <paramref name="position"/> in <paramref name="channel"/>.</summary>
    public static OutboundFrame Advancing(ReadOnlyMemory<byte> bytes, string channel, StreamPosition position) =>
        new(bytes, channel, position, CursorEffect.Advance);

    /// <summary>A publication's <c>message</c> frame; the client is then at its position.</summary>
    public static OutboundFrame Publication(ReadOnlyMemory<byte> bytes, string channel, StreamPosition position) =>
        new(bytes, channel, position, CursorEffect.Advance, isPublication: true);

    /// <summary>How many of <paramref name="frames"/> are publications.</summary>
    public static int CountPublications(List<OutboundFrame> frames)
    {
        var count = 0;
        foreach (var frame in frames)
        {
            count += frame.IsPublication ? 1 : 0;
        }
        return count;
    }

    /// <summary>A frame after which the client is no longer subscribed to <paramref name="channel"/>.</summary>
    public static OutboundFrame Removing(ReadOnlyMemory<byte> bytes, string channel) =>
        new(bytes, channel, default, CursorEffect.Remove);
}
