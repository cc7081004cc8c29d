using System.Net.WebSockets;
using System.Text;
using MessagePack;

namespace PubSub.Bench.Protocols;

/// <summary>
/// PubSub protocol v1 in MessagePack (docs/protocol.md, section 6): binary WebSocket messages
/// holding frames back to back. The payload travels as a str whose bytes are the JSON payload
/// (quotes included), so <see cref="BenchPayload.TryRead"/> finds it the same way.
/// </summary>
public sealed class PubSubMessagePackProtocol : WireProtocol
{
    public static readonly PubSubMessagePackProtocol Instance = new();

    private static readonly byte[] PongFrame = Frame((ref MessagePackWriter w) =>
    {
        w.WriteMapHeader(1);
        w.Write("type");
        w.Write("pong");
    });

    public override string Name => "pubsub";

    public override WebSocketMessageType MessageType => WebSocketMessageType.Binary;

    public override byte[]? Handshake => null;

    public override byte[]? Pong => PongFrame;

    public override byte[]? KeepAlive => null;

    public override bool TryCutFrame(ReadOnlySpan<byte> data, bool unitComplete, out Range frame, out int consumed) =>
        CutValue(data, unitComplete, out frame, out consumed);

    /// <summary>
    /// One MessagePack value. A value cut off at the end of a unit is broken, not pending (a
    /// PubSub unit ends its frames): the rest becomes one frame of its own, which classifies as nothing.
    /// </summary>
    private static bool CutValue(ReadOnlySpan<byte> data, bool unitComplete, out Range frame, out int consumed)
    {
        var length = MessagePackFraming.ValueLength(data);
        if (length < 0 && unitComplete)
        {
            length = data.Length;
        }
        frame = ..Math.Max(length, 0);
        consumed = Math.Max(length, 0);
        return length > 0;
    }

    public override byte[] Subscribe(string channel, long id) => Frame((ref MessagePackWriter w) =>
    {
        w.WriteMapHeader(3);
        w.Write("type");
        w.Write("subscribe");
        w.Write("id");
        w.Write(id);
        w.Write("channel");
        w.Write(channel);
    });

    // No id, as for JSON: no reply on success.
    public override PublishWriter CreatePublishWriter(string channel, int payloadSize) => new(
        Frame((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(3);
            w.Write("type");
            w.Write("publish");
            w.Write("channel");
            w.Write(channel);
            w.Write("data");
            w.WriteStringHeader(payloadSize);
        }),
        payloadSize,
        []);

    public override FrameInfo Classify(ReadOnlySpan<byte> frame)
    {
        string json;
        try
        {
            json = MessagePackSerializer.ConvertToJson(frame.ToArray());
        }
        catch (MessagePackSerializationException)
        {
            return new FrameInfo(FrameKind.Other);
        }
        return PubSubProtocol.Instance.Classify(Encoding.UTF8.GetBytes(json));
    }

    internal delegate void WriteFrame(ref MessagePackWriter writer);

    /// <summary>The bytes <paramref name="write"/> writes: frames are built once per connection or channel, never per delivery.</summary>
    internal static byte[] Frame(WriteFrame write)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        write(ref writer);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }
}
