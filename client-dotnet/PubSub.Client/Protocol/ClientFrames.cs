using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace PubSub.Client.Protocol;

/// <summary>
/// Writes the client's frames (docs/protocol.md, section 2.2) as minified UTF-8 JSON. A frame is
/// built when the request is made, so a value that does not serialize fails the caller at once,
/// and its size is known before it is queued.
/// </summary>
internal static class ClientFrames
{
    /// <summary>Minified (frames never hold a raw newline), with non-ASCII text kept as is.</summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static readonly byte[] Pong = """{"type":"pong"}"""u8.ToArray();

    /// <summary>Ends the session at once (section 2.2): how an SSE or long-polling client leaves without waiting for the grace period.</summary>
    public static readonly byte[] Close = """{"type":"close"}"""u8.ToArray();

    public static byte[] Subscribe(long id, string channel, StreamPosition? since) => Write(writer =>
    {
        writer.WriteString("type"u8, "subscribe"u8);
        writer.WriteNumber("id"u8, id);
        writer.WriteString("channel"u8, channel);
        if (since is { } position)
        {
            WriteSince(writer, position);
        }
    });

    public static byte[] Unsubscribe(long id, string channel) => ChannelRequest("unsubscribe"u8, id, channel);

    /// <summary>A publish whose <c>data</c> is written by <paramref name="writeData"/>; the key, when there is one, comes last (section 2.2).</summary>
    public static byte[] Publish(long id, string channel, Action<Utf8JsonWriter> writeData, string? idempotencyKey) => Write(writer =>
    {
        writer.WriteString("type"u8, "publish"u8);
        writer.WriteNumber("id"u8, id);
        writer.WriteString("channel"u8, channel);
        writer.WritePropertyName("data"u8);
        writeData(writer);
        WriteIdempotencyKey(writer, idempotencyKey);
    });

    public static byte[] PublishBinary(long id, string channel, ReadOnlySpan<byte> bytes, string? idempotencyKey)
    {
        var buffer = new ArrayBufferWriter<byte>(64 + channel.Length + (bytes.Length + 2) / 3 * 4 + (idempotencyKey?.Length ?? 0));
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("type"u8, "publish"u8);
            writer.WriteNumber("id"u8, id);
            writer.WriteString("channel"u8, channel);
            writer.WriteBase64String("binary"u8, bytes);
            WriteIdempotencyKey(writer, idempotencyKey);
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>A <c>presence</c> or <c>presence_stats</c> request (section 2.2): type, id and channel only.</summary>
    public static byte[] ChannelRequest(ReadOnlySpan<byte> type, long id, string channel)
    {
        var buffer = new ArrayBufferWriter<byte>(64 + channel.Length);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("type"u8, type);
            writer.WriteNumber("id"u8, id);
            writer.WriteString("channel"u8, channel);
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    public static byte[] History(long id, string channel, StreamPosition? since, int? limit) => Write(writer =>
    {
        writer.WriteString("type"u8, "history"u8);
        writer.WriteNumber("id"u8, id);
        writer.WriteString("channel"u8, channel);
        if (since is { } position)
        {
            WriteSince(writer, position);
        }
        if (limit is { } value)
        {
            writer.WriteNumber("limit"u8, value);
        }
    });

    public static byte[] Ping(long id) => Write(writer =>
    {
        writer.WriteString("type"u8, "ping"u8);
        writer.WriteNumber("id"u8, id);
    });

    private static void WriteIdempotencyKey(Utf8JsonWriter writer, string? idempotencyKey)
    {
        if (idempotencyKey is not null)
        {
            writer.WriteString("idempotencyKey"u8, idempotencyKey);
        }
    }

    private static void WriteSince(Utf8JsonWriter writer, StreamPosition position)
    {
        writer.WriteStartObject("since"u8);
        writer.WriteString("epoch"u8, position.Epoch);
        writer.WriteNumber("offset"u8, position.Offset);
        writer.WriteEndObject();
    }

    private static byte[] Write(Action<Utf8JsonWriter> writeProperties)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writeProperties(writer);
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
