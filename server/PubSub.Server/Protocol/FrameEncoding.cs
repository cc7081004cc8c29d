using System.Net.WebSockets;

namespace PubSub.Protocol;

/// <summary>What <see cref="FrameEncoding.ReadFrame"/> found at the start of the rest of a batch.</summary>
internal enum FrameRead : byte
{
    /// <summary>Nothing is left.</summary>
    End,
    /// <summary>A valid frame.</summary>
    Frame,
    /// <summary>A frame that is refused: answer with the error and read on (what cannot be read on is left out).</summary>
    Invalid,
}

/// <summary>
/// How a session's frames look on the wire (docs/protocol.md, sections 2 and 6): JSON text or
/// MessagePack. Chosen once per session when it opens, and used for every frame the server
/// writes to it; a transport asks it what kind of message or content type carries a batch. The
/// frames of a publication are built once per encoding and shared (see <c>ChannelHub.OnPublication</c>),
/// so every writer returns an array of exactly the frame's length that the caller may share.
/// </summary>
internal abstract class FrameEncoding
{
    /// <summary>
    /// How many encodings there are: the two of <see cref="All"/>, and STOMP in each of its three
    /// versions (<see cref="Stomp.StompFraming"/>; ids 2 to 4), whose frames differ in their escaping.
    /// </summary>
    public const int Count = 5;

    /// <summary>
    /// The encodings of the PubSub protocol, each at the index of its <see cref="Id"/>; negotiate
    /// lists their names in this order. STOMP is not among them: it is a protocol of its own on
    /// the WebSocket endpoint, one framing per session (<see cref="Stomp.StompFraming"/>).
    /// </summary>
    public static IReadOnlyList<FrameEncoding> All { get; } = [JsonFrameEncoding.Instance, MessagePackFrameEncoding.Instance];

    public static FrameEncoding Json => JsonFrameEncoding.Instance;

    public static FrameEncoding MessagePack => MessagePackFrameEncoding.Instance;

    /// <summary>A small number, unique per encoding, by which per-encoding caches index it (<see cref="All"/>).</summary>
    public abstract int Id { get; }

    /// <summary>The name in negotiate's <c>encodings</c> and in the <c>encoding</c> parameter: <c>json</c>, <c>msgpack</c>.</summary>
    public abstract string Name { get; }

    /// <summary>The WebSocket subprotocol that selects it.</summary>
    public abstract string Subprotocol { get; }

    /// <summary>The kind of WebSocket message that carries its batches.</summary>
    public abstract WebSocketMessageType MessageType { get; }

    /// <summary>The kind of WebSocket message that carries <paramref name="message"/>, a batch of its frames.</summary>
    public virtual WebSocketMessageType MessageTypeOf(ReadOnlySpan<byte> message) => MessageType;

    /// <summary>Whether a WebSocket message of <paramref name="type"/> may carry frames to the server.</summary>
    public virtual bool Accepts(WebSocketMessageType type) => type == MessageType;

    /// <summary>
    /// Whether an error ends the session: in STOMP an ERROR frame is always the last one, so an
    /// error or an <c>unsubscribed</c> notice is sent as the session's last frame (see
    /// <see cref="Sessions.Session.SendError"/>). The PubSub protocol answers errors and goes on.
    /// </summary>
    public virtual bool ErrorEndsSession => false;

    /// <summary>
    /// A publication's <see cref="Message"/> frame as one subscriber gets it. The frame is built
    /// once and shared; an encoding whose frames name the client's own subscription (STOMP's
    /// <c>subscription</c> header) adds it here, per subscriber.
    /// </summary>
    public virtual Sessions.OutboundFrame ForSubscriber(in Sessions.OutboundFrame message) => message;

    /// <summary>The content type of an HTTP body holding one of its batches.</summary>
    public abstract string ContentType { get; }

    /// <summary>Bytes between two frames of a batch: 1 (<c>\n</c>) for JSON, 0 for MessagePack.</summary>
    public abstract int SeparatorLength { get; }

    /// <summary>The encoding named <paramref name="name"/>, or null when there is none by that name.</summary>
    public static FrameEncoding? Named(string name)
    {
        foreach (var encoding in All)
        {
            if (encoding.Name == name)
            {
                return encoding;
            }
        }
        return null;
    }

    /// <summary>The encoding a subprotocol selects, or null.</summary>
    public static FrameEncoding? OfSubprotocol(string subprotocol)
    {
        foreach (var encoding in All)
        {
            if (encoding.Subprotocol == subprotocol)
            {
                return encoding;
            }
        }
        return null;
    }

    /// <summary>
    /// Reads the first frame of <paramref name="rest"/> and moves <paramref name="rest"/> past it.
    /// A refused frame gives <see cref="FrameRead.Invalid"/> and <paramref name="error"/> (with the
    /// frame's id when it was readable); when what follows it cannot be found, <paramref name="rest"/>
    /// becomes empty.
    /// </summary>
    public abstract FrameRead ReadFrame(ref ReadOnlyMemory<byte> rest, out ClientFrame? frame, out ProtocolError error);

    public abstract byte[] Ping { get; }

    public abstract byte[] Pong { get; }

    public abstract byte[] Connected(string sessionId, string nodeId, string transport, int pingSeconds);

    public abstract byte[] Message(Publication publication);

    public abstract byte[] Subscribed(string channel, StreamPosition position, bool? recovered);

    public abstract byte[] Unsubscribed(string channel, string code, string reason);

    public abstract byte[] Disconnect(DisconnectReason reason);

    public abstract byte[] Error(string code, string message);

    public abstract byte[] ReplyError(long id, string code, string message);

    public abstract byte[] ReplyEmpty(long id);

    public abstract byte[] ReplyPosition(long id, StreamPosition position, bool? recovered = null);

    public abstract byte[] ReplyHistory(long id, HistoryPage page);

    /// <summary>The reply to <c>presence</c>: <c>{members: [{session, user?, info?}], truncated}</c>.</summary>
    public abstract byte[] ReplyPresence(long id, PresencePage page);

    /// <summary>The reply to <c>presence_stats</c>: <c>{clients, users}</c>.</summary>
    public abstract byte[] ReplyPresenceStats(long id, PresenceStats stats);

    /// <summary>A <c>join</c> or <c>leave</c> frame: <c>channel</c>, <c>session</c>, <c>user</c> and <c>info</c> when there are.</summary>
    public abstract byte[] Presence(PresenceEvent presence);

    /// <summary>
    /// At least the length of <see cref="ReplyHistory"/>'s frame for <paramref name="page"/>,
    /// computed without building it: a reply too large for the session is refused before it costs
    /// its memory.
    /// </summary>
    public abstract long ReplyHistoryUpperBound(HistoryPage page);

    /// <summary>The length of <paramref name="frames"/> joined into one batch.</summary>
    public int JoinedLength(List<Sessions.OutboundFrame> frames)
    {
        var length = Math.Max(0, frames.Count - 1) * SeparatorLength;
        foreach (var frame in frames)
        {
            length += frame.Bytes.Length;
        }
        return length;
    }

    /// <summary>Writes <paramref name="frames"/> into <paramref name="destination"/> as one batch; returns its length.</summary>
    public int Join(List<Sessions.OutboundFrame> frames, Span<byte> destination)
    {
        var written = 0;
        foreach (var frame in frames)
        {
            if (written > 0 && SeparatorLength > 0)
            {
                destination[written++] = FrameBatch.Separator;
            }
            frame.Bytes.Span.CopyTo(destination[written..]);
            written += frame.Bytes.Length;
        }
        return written;
    }

    /// <summary>A batch of <paramref name="frames"/> in a new array.</summary>
    public byte[] Join(List<Sessions.OutboundFrame> frames)
    {
        var batch = new byte[JoinedLength(frames)];
        Join(frames, batch);
        return batch;
    }

    public override string ToString() => Name;
}
