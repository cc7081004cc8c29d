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
/// A serialized server frame waiting in a session's outbound queue. The JSON bytes of a
/// publication are shared by every subscriber; the struct itself is copied, never allocated.
/// </summary>
internal readonly struct OutboundFrame
{
    public OutboundFrame(ReadOnlyMemory<byte> json)
    {
        Json = json;
    }

    private OutboundFrame(ReadOnlyMemory<byte> json, string channel, StreamPosition position, CursorEffect effect, bool isPublication = false)
    {
        Json = json;
        Channel = channel;
        Position = position;
        Effect = effect;
        IsPublication = isPublication;
    }

    public ReadOnlyMemory<byte> Json { get; }

    public string? Channel { get; }

    public StreamPosition Position { get; }

    public CursorEffect Effect { get; }

    /// <summary>A <c>message</c> frame: a publication delivered (what the delivery metrics count).</summary>
    public bool IsPublication { get; }

    /// <summary>A frame after which the client is at <paramref name="position"/> in <paramref name="channel"/>.</summary>
    public static OutboundFrame Advancing(ReadOnlyMemory<byte> json, string channel, StreamPosition position) =>
        new(json, channel, position, CursorEffect.Advance);

    /// <summary>A publication's <c>message</c> frame; the client is then at its position.</summary>
    public static OutboundFrame Publication(ReadOnlyMemory<byte> json, string channel, StreamPosition position) =>
        new(json, channel, position, CursorEffect.Advance, isPublication: true);

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
    public static OutboundFrame Removing(ReadOnlyMemory<byte> json, string channel) =>
        new(json, channel, default, CursorEffect.Remove);

    /// <summary>The length of <paramref name="frames"/> joined into one batch (docs/protocol.md, section 2).</summary>
    public static int JoinedLength(List<OutboundFrame> frames)
    {
        var length = Math.Max(0, frames.Count - 1);
        foreach (var frame in frames)
        {
            length += frame.Json.Length;
        }
        return length;
    }

    /// <summary>Writes <paramref name="frames"/> into <paramref name="destination"/>, separated by newlines; returns the length.</summary>
    public static int Join(List<OutboundFrame> frames, Span<byte> destination)
    {
        var written = 0;
        foreach (var frame in frames)
        {
            if (written > 0)
            {
                destination[written++] = FrameBatch.Separator;
            }
            frame.Json.Span.CopyTo(destination[written..]);
            written += frame.Json.Length;
        }
        return written;
    }
}
