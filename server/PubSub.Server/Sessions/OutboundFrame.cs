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

    private OutboundFrame(ReadOnlyMemory<byte> json, string channel, StreamPosition position, CursorEffect effect)
    {
        Json = json;
        Channel = channel;
        Position = position;
        Effect = effect;
    }

    public ReadOnlyMemory<byte> Json { get; }

    public string? Channel { get; }

    public StreamPosition Position { get; }

    public CursorEffect Effect { get; }

    /// <summary>A frame after which the client is at <paramref name="position"/> in <paramref name="channel"/>.</summary>
    public static OutboundFrame Advancing(ReadOnlyMemory<byte> json, string channel, StreamPosition position) =>
        new(json, channel, position, CursorEffect.Advance);

    /// <summary>A frame after which the client is no longer subscribed to <paramref name="channel"/>.</summary>
    public static OutboundFrame Removing(ReadOnlyMemory<byte> json, string channel) =>
        new(json, channel, default, CursorEffect.Remove);
}
