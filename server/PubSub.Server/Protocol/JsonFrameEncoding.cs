using System.Net.WebSockets;

namespace PubSub.Protocol;

/// <summary>The JSON encoding (docs/protocol.md, section 2): frames as minified UTF-8 JSON, a batch's frames separated by <c>\n</c>.</summary>
internal sealed class JsonFrameEncoding : FrameEncoding
{
    public static readonly JsonFrameEncoding Instance = new();

    private JsonFrameEncoding()
    {
    }

    public override int Id => 0;

    public override string Name => "json";

    public override string Subprotocol => "pubsub.json";

    public override WebSocketMessageType MessageType => WebSocketMessageType.Text;

    public override string ContentType => "text/plain; charset=utf-8";

    public override int SeparatorLength => 1;

    public override FrameRead ReadFrame(ref ReadOnlyMemory<byte> rest, out ClientFrame? frame, out ProtocolError error)
    {
        var lines = FrameBatch.Split(rest);
        if (!lines.MoveNext())
        {
            rest = ReadOnlyMemory<byte>.Empty;
            frame = null;
            error = default;
            return FrameRead.End;
        }
        rest = lines.Rest;
        return ClientFrameParser.TryParse(lines.Current.Span, out frame, out error) ? FrameRead.Frame : FrameRead.Invalid;
    }

    public override byte[] Ping => ServerFrames.Ping;

    public override byte[] Pong => ServerFrames.Pong;

    public override byte[] Connected(string sessionId, string nodeId, string transport, int pingSeconds) => ServerFrames.Connected(sessionId, nodeId, transport, pingSeconds);

    public override byte[] Message(Publication publication) => ServerFrames.Message(publication);

    public override byte[] Subscribed(string channel, StreamPosition position, bool? recovered) => ServerFrames.Subscribed(channel, position, recovered);

    public override byte[] Unsubscribed(string channel, string code, string reason) => ServerFrames.Unsubscribed(channel, code, reason);

    public override byte[] Disconnect(DisconnectReason reason) => ServerFrames.Disconnect(reason);

    public override byte[] Error(string code, string message) => ServerFrames.Error(code, message);

    public override byte[] ReplyError(long id, string code, string message) => ServerFrames.ReplyError(id, code, message);

    public override byte[] ReplyEmpty(long id) => ServerFrames.ReplyEmpty(id);

    public override byte[] ReplyPosition(long id, StreamPosition position, bool? recovered = null) => ServerFrames.ReplyPosition(id, position, recovered);

    public override byte[] ReplyHistory(long id, HistoryPage page) => ServerFrames.ReplyHistory(id, page);

    public override long ReplyHistoryUpperBound(HistoryPage page) => ServerFrames.ReplyHistoryUpperBound(page);

    public override byte[] ReplyPresence(long id, PresencePage page) => ServerFrames.ReplyPresence(id, page);

    public override byte[] ReplyPresenceStats(long id, PresenceStats stats) => ServerFrames.ReplyPresenceStats(id, stats);

    public override byte[] Presence(PresenceEvent presence) => ServerFrames.Presence(presence);
}
