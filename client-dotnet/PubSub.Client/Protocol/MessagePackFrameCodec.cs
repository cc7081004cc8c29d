using System.Buffers;
using System.Text.Json;
using MessagePack;

namespace PubSub.Client.Protocol;

/// <summary>
/// The MessagePack encoding (docs/protocol.md, section 6), with MessagePack-CSharp's reader and
/// writer: each frame one map with the JSON frame's field names in the same order, a batch the
/// values one after another; <c>binary</c> is bin. Publication data is JSON to the application
/// (<see cref="PubSubMessage.Data"/>, <see cref="System.Text.Json"/> serialization), so it is
/// transcoded to and from its MessagePack value here (<see cref="MessagePackJson"/>).
/// </summary>
internal sealed class MessagePackFrameCodec : FrameCodec
{
    public static readonly MessagePackFrameCodec Instance = new();

    private static readonly byte[] s_pong = Write(1, static (ref MessagePackWriter w) => Field(ref w, "type"u8, "pong"u8));
    private static readonly byte[] s_close = Write(1, static (ref MessagePackWriter w) => Field(ref w, "type"u8, "close"u8));

    private MessagePackFrameCodec()
    {
    }

    private delegate void WriteFields(ref MessagePackWriter writer);

    public override PubSubEncoding Encoding => PubSubEncoding.MessagePack;

    public override string ContentType => "application/vnd.msgpack";

    // Values delimit themselves (section 6.2).
    public override ReadOnlySpan<byte> Separator => [];

    public override byte[] Pong => s_pong;

    public override byte[] Close => s_close;

    public override byte[] Subscribe(long id, string channel, StreamPosition? since) => Write(since is null ? 3 : 4, (ref MessagePackWriter w) =>
    {
        Head(ref w, "subscribe"u8, id, channel);
        if (since is { } position)
        {
            Since(ref w, position);
        }
    });

    public override byte[] Unsubscribe(long id, string channel) => Write(3, (ref MessagePackWriter w) => Head(ref w, "unsubscribe"u8, id, channel));

    public override byte[] Publish(long id, string channel, Action<Utf8JsonWriter> writeData, string? idempotencyKey = null)
    {
        var json = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(json, ClientFrames.WriterOptions))
        {
            writeData(writer);
        }
        using var data = JsonDocument.Parse(json.WrittenMemory);
        var root = data.RootElement;
        return Write(idempotencyKey is null ? 4 : 5, (ref MessagePackWriter w) =>
        {
            Head(ref w, "publish"u8, id, channel);
            w.WriteString("data"u8);
            MessagePackJson.WriteValue(ref w, root);
            IdempotencyKey(ref w, idempotencyKey);
        });
    }

    public override byte[] PublishBinary(long id, string channel, ReadOnlySpan<byte> bytes, string? idempotencyKey = null)
    {
        var buffer = new ArrayBufferWriter<byte>(64 + channel.Length + bytes.Length + (idempotencyKey?.Length ?? 0));
        var writer = new MessagePackWriter(buffer);
        writer.WriteMapHeader(idempotencyKey is null ? 4 : 5);
        Head(ref writer, "publish"u8, id, channel);
        writer.WriteString("binary"u8);
        writer.Write(bytes);
        IdempotencyKey(ref writer, idempotencyKey);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    public override byte[] Presence(long id, string channel) => Write(3, (ref MessagePackWriter w) => Head(ref w, "presence"u8, id, channel));

    public override byte[] PresenceStats(long id, string channel) => Write(3, (ref MessagePackWriter w) => Head(ref w, "presence_stats"u8, id, channel));

    public override byte[] History(long id, string channel, StreamPosition? since, int? limit) =>
        Write(3 + (since is null ? 0 : 1) + (limit is null ? 0 : 1), (ref MessagePackWriter w) =>
        {
            Head(ref w, "history"u8, id, channel);
            if (since is { } position)
            {
                Since(ref w, position);
            }
            if (limit is { } value)
            {
                w.WriteString("limit"u8);
                w.Write(value);
            }
        });

    public override byte[] Ping(long id) => Write(2, (ref MessagePackWriter w) =>
    {
        Field(ref w, "type"u8, "ping"u8);
        w.WriteString("id"u8);
        w.Write(id);
    });

    public override ServerFrame Parse(ReadOnlySpan<byte> frame) => MessagePackFrameParser.Parse(frame);

    public override void Split<TState>(ReadOnlyMemory<byte> batch, TState state, FrameCallback<TState> onFrame)
    {
        var reader = new MessagePackReader(batch);
        while (!reader.End)
        {
            var start = (int)reader.Consumed;
            if (!MessagePackJson.TrySkip(ref reader))
            {
                // A value that does not decode: what follows it cannot be found (section 6.2).
                onFrame(state, batch.Span[start..]);
                return;
            }
            if (!onFrame(state, batch.Span[start..(int)reader.Consumed]))
            {
                return;
            }
        }
    }

    /// <summary><c>type</c>, <c>id</c> and <c>channel</c>: the first fields of every request (protocol/frames/msgpack.json's order).</summary>
    private static void Head(ref MessagePackWriter writer, ReadOnlySpan<byte> type, long id, string channel)
    {
        Field(ref writer, "type"u8, type);
        writer.WriteString("id"u8);
        writer.Write(id);
        writer.WriteString("channel"u8);
        writer.Write(channel);
    }

    /// <summary>The key comes last, as in JSON (section 2.2).</summary>
    private static void IdempotencyKey(ref MessagePackWriter writer, string? idempotencyKey)
    {
        if (idempotencyKey is not null)
        {
            writer.WriteString("idempotencyKey"u8);
            writer.Write(idempotencyKey);
        }
    }

    private static void Since(ref MessagePackWriter writer, StreamPosition position)
    {
        writer.WriteString("since"u8);
        writer.WriteMapHeader(2);
        writer.WriteString("epoch"u8);
        writer.Write(position.Epoch);
        writer.WriteString("offset"u8);
        writer.Write(position.Offset);
    }

    private static void Field(ref MessagePackWriter writer, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        writer.WriteString(name);
        writer.WriteString(value);
    }

    private static byte[] Write(int fields, WriteFields write)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        var writer = new MessagePackWriter(buffer);
        writer.WriteMapHeader(fields);
        write(ref writer);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }
}
