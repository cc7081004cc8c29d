using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace PubSub.Protocol;

/// <summary>
/// Writes the server's frames (docs/protocol.md, section 2.3) as minified UTF-8 JSON. Each method
/// returns an array of exactly the frame's length, which the caller may share between sessions.
/// </summary>
internal static class ServerFrames
{
    /// <summary>
    /// Relaxed escaping keeps non-ASCII text readable and small; the frames are JSON for programs,
    /// never HTML, and control characters (newlines included) are still escaped.
    /// </summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static readonly byte[] Ping = """{"type":"ping"}"""u8.ToArray();
    public static readonly byte[] Pong = """{"type":"pong"}"""u8.ToArray();

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    public static byte[] Connected(string sessionId, string nodeId, string transport, int pingSeconds) => Write(writer =>
    {
        writer.WriteString("type"u8, "connected"u8);
        writer.WriteString("session"u8, sessionId);
        writer.WriteString("node"u8, nodeId);
        writer.WriteNumber("version"u8, 1);
        writer.WriteString("transport"u8, transport);
        writer.WriteNumber("ping"u8, pingSeconds);
    });

    // Written without a lambda, unlike the rest: one per publication, a closure each would add up.
    public static byte[] Message(Publication publication)
    {
        var writer = Start();
        writer.WriteString("type"u8, "message"u8);
        writer.WriteString("channel"u8, publication.Channel);
        writer.WriteNumber("offset"u8, publication.Offset);
        writer.WriteString("epoch"u8, publication.Epoch);
        WriteData(writer, publication.Data);
        return Finish(writer);
    }

    public static byte[] Subscribed(string channel, StreamPosition position, bool? recovered) => Write(writer =>
    {
        writer.WriteString("type"u8, "subscribed"u8);
        writer.WriteString("channel"u8, channel);
        WritePosition(writer, position);
        if (recovered is { } value)
        {
            writer.WriteBoolean("recovered"u8, value);
        }
    });

    public static byte[] Unsubscribed(string channel, string code, string reason) => Write(writer =>
    {
        writer.WriteString("type"u8, "unsubscribed"u8);
        writer.WriteString("channel"u8, channel);
        writer.WriteString("code"u8, code);
        writer.WriteString("reason"u8, reason);
    });

    public static byte[] Disconnect(DisconnectReason reason) => Write(writer =>
    {
        writer.WriteString("type"u8, "disconnect"u8);
        writer.WriteNumber("code"u8, reason.Code);
        writer.WriteString("reason"u8, reason.Reason);
        writer.WriteBoolean("reconnect"u8, reason.Reconnect);
    });

    public static byte[] Error(string code, string message) => Write(writer =>
    {
        writer.WriteString("type"u8, "error"u8);
        writer.WriteString("code"u8, code);
        writer.WriteString("message"u8, message);
    });

    public static byte[] ReplyError(long id, string code, string message) => Write(writer =>
    {
        writer.WriteString("type"u8, "reply"u8);
        writer.WriteNumber("id"u8, id);
        writer.WriteStartObject("error"u8);
        writer.WriteString("code"u8, code);
        writer.WriteString("message"u8, message);
        writer.WriteEndObject();
    });

    public static byte[] ReplyEmpty(long id) => Write(writer =>
    {
        writer.WriteString("type"u8, "reply"u8);
        writer.WriteNumber("id"u8, id);
        writer.WriteStartObject("result"u8);
        writer.WriteEndObject();
    });

    public static byte[] ReplyPosition(long id, StreamPosition position, bool? recovered = null) => Write(writer =>
    {
        writer.WriteString("type"u8, "reply"u8);
        writer.WriteNumber("id"u8, id);
        writer.WriteStartObject("result"u8);
        WritePosition(writer, position);
        if (recovered is { } value)
        {
            writer.WriteBoolean("recovered"u8, value);
        }
        writer.WriteEndObject();
    });

    public static byte[] ReplyHistory(long id, HistoryPage page) => Write(writer =>
    {
        writer.WriteString("type"u8, "reply"u8);
        writer.WriteNumber("id"u8, id);
        writer.WritePropertyName("result"u8);
        WriteHistory(writer, page);
    });

    public static byte[] ReplyPresence(long id, PresencePage page) => Write(writer =>
    {
        writer.WriteString("type"u8, "reply"u8);
        writer.WriteNumber("id"u8, id);
        writer.WritePropertyName("result"u8);
        WritePresence(writer, page);
    });

    public static byte[] ReplyPresenceStats(long id, PresenceStats stats) => Write(writer =>
    {
        writer.WriteString("type"u8, "reply"u8);
        writer.WriteNumber("id"u8, id);
        writer.WritePropertyName("result"u8);
        WritePresenceStats(writer, stats);
    });

    public static byte[] Presence(PresenceEvent presence) => Write(writer =>
    {
        writer.WriteString("type"u8, presence.Joined ? "join"u8 : "leave"u8);
        writer.WriteString("channel"u8, presence.Channel);
        WriteMemberFields(writer, presence.Member);
    });

    /// <summary>A presence page as the JSON object that both the <c>presence</c> reply and the server API return.</summary>
    public static void WritePresence(Utf8JsonWriter writer, PresencePage page)
    {
        writer.WriteStartObject();
        writer.WriteStartArray("members"u8);
        foreach (var member in page.Members)
        {
            writer.WriteStartObject();
            WriteMemberFields(writer, member);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteBoolean("truncated"u8, page.Truncated);
        writer.WriteEndObject();
    }

    public static void WritePresenceStats(Utf8JsonWriter writer, PresenceStats stats)
    {
        writer.WriteStartObject();
        writer.WriteNumber("clients"u8, stats.Clients);
        writer.WriteNumber("users"u8, stats.Users);
        writer.WriteEndObject();
    }

    private static void WriteMemberFields(Utf8JsonWriter writer, PresenceMember member)
    {
        writer.WriteString("session"u8, member.Session);
        if (member.User is { } user)
        {
            writer.WriteString("user"u8, user);
        }
        if (member.Info is { } info)
        {
            writer.WritePropertyName("info"u8);
            writer.WriteRawValue(info.Bytes.Span, skipInputValidation: true);
        }
    }

    /// <summary>
    /// At least the length of <see cref="ReplyHistory"/>'s frame for <paramref name="page"/>,
    /// computed without building it: a reply too large for the session is refused before it costs
    /// its memory.
    /// </summary>
    public static long ReplyHistoryUpperBound(HistoryPage page)
    {
        // {"type":"reply","id":N,"result":{"epoch":"...","offset":N,"publications":[ ... ]}}
        long length = 96 + page.Latest.Epoch.Length;
        foreach (var publication in page.Publications)
        {
            // {"offset":N,"binary":"..."}, with the separating comma.
            var data = publication.Data.Bytes.Length;
            length += 40 + (publication.Data.IsBinary ? (data + 2) / 3 * 4 : data);
        }
        return length;
    }

    /// <summary>A history page as the JSON object that both the <c>history</c> reply and the server API return.</summary>
    public static void WriteHistory(Utf8JsonWriter writer, HistoryPage page)
    {
        writer.WriteStartObject();
        WritePosition(writer, page.Latest);
        writer.WriteStartArray("publications"u8);
        foreach (var publication in page.Publications)
        {
            writer.WriteStartObject();
            writer.WriteNumber("offset"u8, publication.Offset);
            WriteData(writer, publication.Data);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    public static void WritePosition(Utf8JsonWriter writer, StreamPosition position)
    {
        writer.WriteString("epoch"u8, position.Epoch);
        writer.WriteNumber("offset"u8, position.Offset);
    }

    public static void WriteData(Utf8JsonWriter writer, Payload data)
    {
        if (data.IsBinary)
        {
            writer.WriteBase64String("binary"u8, data.Bytes.Span);
        }
        else
        {
            writer.WritePropertyName("data"u8);
            // Payloads are validated and minified when they enter the server.
            writer.WriteRawValue(data.Bytes.Span, skipInputValidation: true);
        }
    }

    private static byte[] Write(Action<Utf8JsonWriter> writeProperties)
    {
        var writer = Start();
        writeProperties(writer);
        return Finish(writer);
    }

    /// <summary>The thread's writer, reset, with the frame's object opened; <see cref="Finish"/> closes it.</summary>
    private static Utf8JsonWriter Start()
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(256);
        var writer = t_writer ??= new Utf8JsonWriter(buffer, WriterOptions);
        buffer.ResetWrittenCount();
        writer.Reset(buffer);
        writer.WriteStartObject();
        return writer;
    }

    private static byte[] Finish(Utf8JsonWriter writer)
    {
        var buffer = t_buffer!;
        writer.WriteEndObject();
        writer.Flush();
        var frame = buffer.WrittenSpan.ToArray();
        if (buffer.Capacity > 64 * 1024)
        {
            // One large frame should not pin a large buffer to the thread for good.
            t_buffer = null;
            t_writer = null;
        }
        return frame;
    }
}
