using System.Text.Json;

namespace PubSub.Client.Protocol;

/// <summary>
/// One encoding of the protocol's frames (docs/protocol.md, sections 2 and 6): how the client's
/// frames are written, how a batch is split into frames and joined from them, and how a server
/// frame is read. A transport has one, and everything above the transports works with
/// <see cref="ServerFrame"/>s and requests, the same in either encoding.
/// </summary>
internal abstract class FrameCodec
{
    public static FrameCodec For(PubSubEncoding encoding) => encoding == PubSubEncoding.MessagePack ? MessagePackFrameCodec.Instance : JsonFrameCodec.Instance;

    public abstract PubSubEncoding Encoding { get; }

    /// <summary>The Content-Type of a <c>/send</c> body in this encoding (section 3.5).</summary>
    public abstract string ContentType { get; }

    /// <summary>What goes between two frames of a batch.</summary>
    public abstract ReadOnlySpan<byte> Separator { get; }

    public abstract byte[] Pong { get; }

    /// <summary>Ends the session at once (section 2.2): how an SSE or long-polling client leaves without waiting for the grace period.</summary>
    public abstract byte[] Close { get; }

    public abstract byte[] Subscribe(long id, string channel, StreamPosition? since);

    public abstract byte[] Unsubscribe(long id, string channel);

    /// <summary>A publish whose <c>data</c> is the JSON value <paramref name="writeData"/> writes, with its idempotency key when it has one.</summary>
    public abstract byte[] Publish(long id, string channel, Action<Utf8JsonWriter> writeData, string? idempotencyKey = null);

    public abstract byte[] PublishBinary(long id, string channel, ReadOnlySpan<byte> bytes, string? idempotencyKey = null);

    /// <summary>A <c>presence</c> request: who is subscribed to the channel.</summary>
    public abstract byte[] Presence(long id, string channel);

    /// <summary>A <c>presence_stats</c> request: how many clients and users are subscribed.</summary>
    public abstract byte[] PresenceStats(long id, string channel);

    public abstract byte[] History(long id, string channel, StreamPosition? since, int? limit);

    public abstract byte[] Ping(long id);

    /// <summary>Reads one server frame; throws <see cref="PubSubException"/> (<c>bad_frame</c>) for what is not one.</summary>
    public abstract ServerFrame Parse(ReadOnlySpan<byte> frame);

    /// <summary>
    /// Calls <paramref name="onFrame"/> for each frame of the batch, in order; stops early when it
    /// returns false. A part that cannot be told apart from what follows it is handed on whole, so
    /// its parse reports it.
    /// </summary>
    public abstract void Split<TState>(ReadOnlyMemory<byte> batch, TState state, FrameCallback<TState> onFrame);
}
