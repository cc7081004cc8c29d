using System.Buffers;
using System.Net.WebSockets;
using MessagePack;

namespace PubSub.Protocol;

/// <summary>
/// The MessagePack encoding (docs/protocol.md, section 6): each frame one map, a batch's frames
/// one after another. Frames are written with str keys in the field order of section 2.3, the
/// shortest form of every integer, str, array and map header (what MessagePackWriter writes),
/// <c>binary</c> as bin and JSON <c>data</c> as the equivalent MessagePack value
/// (<see cref="MessagePackData"/>); client frames are read by <see cref="MessagePackClientFrameParser"/>.
/// </summary>
internal sealed class MessagePackFrameEncoding : FrameEncoding
{
    public static readonly MessagePackFrameEncoding Instance = new();

    private MessagePackFrameEncoding()
    {
    }

    public override int Id => 1;

    public override string Name => "msgpack";

    public override string Subprotocol => "pubsub.msgpack";

    public override WebSocketMessageType MessageType => WebSocketMessageType.Binary;

    public override string ContentType => "application/vnd.msgpack";

    public override int SeparatorLength => 0;

    public override FrameRead ReadFrame(ref ReadOnlyMemory<byte> rest, out ClientFrame? frame, out ProtocolError error) =>
        MessagePackClientFrameParser.Read(ref rest, out frame, out error);

    private static readonly byte[] s_ping = Build(static (ref MessagePackWriter w) => Type(ref w, 1, "ping"u8));
    private static readonly byte[] s_pong = Build(static (ref MessagePackWriter w) => Type(ref w, 1, "pong"u8));

    public override byte[] Ping => s_ping;

    public override byte[] Pong => s_pong;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    private delegate void WriteFields(ref MessagePackWriter writer);

    public override byte[] Connected(string sessionId, string nodeId, string transport, int pingSeconds)
    {
        var writer = Begin();
        Type(ref writer, 6, "connected"u8);
        String(ref writer, "session"u8, sessionId);
        String(ref writer, "node"u8, nodeId);
        Integer(ref writer, "version"u8, 1);
        String(ref writer, "transport"u8, transport);
        Integer(ref writer, "ping"u8, pingSeconds);
        return Finish(ref writer);
    }

    public override byte[] Message(Publication publication)
    {
        var writer = Begin();
        Type(ref writer, 5, "message"u8);
        String(ref writer, "channel"u8, publication.Channel);
        Integer(ref writer, "offset"u8, publication.Offset);
        String(ref writer, "epoch"u8, publication.Epoch);
        WriteData(ref writer, publication.Data);
        return Finish(ref writer);
    }

    public override byte[] Subscribed(string channel, StreamPosition position, bool? recovered)
    {
        var writer = Begin();
        Type(ref writer, recovered is null ? 4 : 5, "subscribed"u8);
        String(ref writer, "channel"u8, channel);
        WritePosition(ref writer, position, recovered);
        return Finish(ref writer);
    }

    public override byte[] Unsubscribed(string channel, string code, string reason)
    {
        var writer = Begin();
        Type(ref writer, 4, "unsubscribed"u8);
        String(ref writer, "channel"u8, channel);
        String(ref writer, "code"u8, code);
        String(ref writer, "reason"u8, reason);
        return Finish(ref writer);
    }

    public override byte[] Disconnect(DisconnectReason reason)
    {
        var writer = Begin();
        Type(ref writer, 4, "disconnect"u8);
        Integer(ref writer, "code"u8, reason.Code);
        String(ref writer, "reason"u8, reason.Reason);
        writer.WriteString("reconnect"u8);
        writer.Write(reason.Reconnect);
        return Finish(ref writer);
    }

    public override byte[] Error(string code, string message)
    {
        var writer = Begin();
        Type(ref writer, 3, "error"u8);
        String(ref writer, "code"u8, code);
        String(ref writer, "message"u8, message);
        return Finish(ref writer);
    }

    public override byte[] ReplyError(long id, string code, string message)
    {
        var writer = Reply(id, "error"u8);
        writer.WriteMapHeader(2);
        String(ref writer, "code"u8, code);
        String(ref writer, "message"u8, message);
        return Finish(ref writer);
    }

    public override byte[] ReplyEmpty(long id)
    {
        var writer = Reply(id, "result"u8);
        writer.WriteMapHeader(0);
        return Finish(ref writer);
    }

    public override byte[] ReplyPosition(long id, StreamPosition position, bool? recovered = null)
    {
        var writer = Reply(id, "result"u8);
        writer.WriteMapHeader(recovered is null ? 2 : 3);
        WritePosition(ref writer, position, recovered);
        return Finish(ref writer);
    }

    public override byte[] ReplyHistory(long id, HistoryPage page)
    {
        var writer = Reply(id, "result"u8);
        writer.WriteMapHeader(3);
        WritePosition(ref writer, page.Latest, recovered: null);
        writer.WriteString("publications"u8);
        writer.WriteArrayHeader(page.Publications.Count);
        foreach (var publication in page.Publications)
        {
            writer.WriteMapHeader(2);
            Integer(ref writer, "offset"u8, publication.Offset);
            WriteData(ref writer, publication.Data);
        }
        return Finish(ref writer);
    }

    public override long ReplyHistoryUpperBound(HistoryPage page)
    {
        // The frame's fields and the position, each integer at its widest (9 bytes).
        long length = 96 + page.Latest.Epoch.Length;
        foreach (var publication in page.Publications)
        {
            // A 1-byte map header, "offset" and its integer, "binary" or "data", a bin header.
            var data = publication.Data;
            length += 30 + (data.IsBinary ? data.Bytes.Length : MessagePackData.UpperBoundFromJson(data.Bytes.Span));
        }
        return length;
    }

    public override byte[] ReplyPresence(long id, PresencePage page)
    {
        var writer = Reply(id, "result"u8);
        writer.WriteMapHeader(2);
        writer.WriteString("members"u8);
        writer.WriteArrayHeader(page.Members.Count);
        foreach (var member in page.Members)
        {
            writer.WriteMapHeader(MemberFieldCount(member));
            WriteMemberFields(ref writer, member);
        }
        writer.WriteString("truncated"u8);
        writer.Write(page.Truncated);
        return Finish(ref writer);
    }

    public override byte[] ReplyPresenceStats(long id, PresenceStats stats)
    {
        var writer = Reply(id, "result"u8);
        writer.WriteMapHeader(2);
        Integer(ref writer, "clients"u8, stats.Clients);
        Integer(ref writer, "users"u8, stats.Users);
        return Finish(ref writer);
    }

    public override byte[] Presence(PresenceEvent presence)
    {
        var writer = Begin();
        Type(ref writer, 2 + MemberFieldCount(presence.Member), presence.Joined ? "join"u8 : "leave"u8);
        String(ref writer, "channel"u8, presence.Channel);
        WriteMemberFields(ref writer, presence.Member);
        return Finish(ref writer);
    }

    private static int MemberFieldCount(PresenceMember member) => 1 + (member.User is null ? 0 : 1) + (member.Info is null ? 0 : 1);

    private static void WriteMemberFields(ref MessagePackWriter writer, PresenceMember member)
    {
        String(ref writer, "session"u8, member.Session);
        if (member.User is { } user)
        {
            String(ref writer, "user"u8, user);
        }
        if (member.Info is { } info)
        {
            writer.WriteString("info"u8);
            MessagePackData.WriteFromJson(ref writer, info.Bytes);
        }
    }

    private static MessagePackWriter Reply(long id, ReadOnlySpan<byte> outcome)
    {
        var writer = Begin();
        Type(ref writer, 3, "reply"u8);
        Integer(ref writer, "id"u8, id);
        writer.WriteString(outcome);
        return writer;
    }

    private static void WritePosition(ref MessagePackWriter writer, StreamPosition position, bool? recovered)
    {
        String(ref writer, "epoch"u8, position.Epoch);
        Integer(ref writer, "offset"u8, position.Offset);
        if (recovered is { } value)
        {
            writer.WriteString("recovered"u8);
            writer.Write(value);
        }
    }

    private static void WriteData(ref MessagePackWriter writer, Payload data)
    {
        if (data.IsBinary)
        {
            writer.WriteString("binary"u8);
            writer.Write(data.Bytes.Span);
        }
        else
        {
            writer.WriteString("data"u8);
            MessagePackData.WriteFromJson(ref writer, data.Bytes);
        }
    }

    private static void Type(ref MessagePackWriter writer, int fields, ReadOnlySpan<byte> type)
    {
        writer.WriteMapHeader(fields);
        writer.WriteString("type"u8);
        writer.WriteString(type);
    }

    private static void String(ref MessagePackWriter writer, ReadOnlySpan<byte> name, string value)
    {
        writer.WriteString(name);
        writer.Write(value);
    }

    private static void Integer(ref MessagePackWriter writer, ReadOnlySpan<byte> name, long value)
    {
        writer.WriteString(name);
        writer.Write(value);
    }

    private static MessagePackWriter Begin()
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(256);
        buffer.ResetWrittenCount();
        return new MessagePackWriter(buffer);
    }

    private static byte[] Finish(ref MessagePackWriter writer)
    {
        writer.Flush();
        var buffer = t_buffer!;
        var frame = buffer.WrittenSpan.ToArray();
        if (buffer.Capacity > 64 * 1024)
        {
            // One large frame should not pin a large buffer to the thread for good.
            t_buffer = null;
        }
        return frame;
    }

    private static byte[] Build(WriteFields fields)
    {
        var writer = Begin();
        fields(ref writer);
        return Finish(ref writer);
    }
}
