using System.Collections.Concurrent;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Unicode;
using PubSub.Protocol;
using PubSub.Sessions;

namespace PubSub.Stomp;

/// <summary>
/// How a STOMP session's frames look (docs/protocol.md, section 7). Unlike JSON and MessagePack
/// it is one instance per session, because STOMP frames name what the session negotiated: its
/// version (which decides the escaping), and its own subscription ids (the <c>subscription</c>
/// header of each MESSAGE). A publication's MESSAGE is still built once per version and shared
/// (<see cref="Message"/>, keyed by <see cref="Id"/>); each subscriber gets a copy with its
/// subscription header put in front (<see cref="ForSubscriber"/>), a copy of the frame's bytes
/// and no other work.
/// </summary>
internal sealed class StompFraming(string subprotocol) : FrameEncoding
{
    private static readonly byte[] HeartBeat = "\n"u8.ToArray();
    private static readonly byte[] MessageCommand = "MESSAGE\n"u8.ToArray();

    // Each subscribed channel's "MESSAGE\nsubscription:{id}\n", read by the fan-out's threads.
    private readonly ConcurrentDictionary<string, byte[]> _messagePrefixes = new(StringComparer.Ordinal);

    // A StompVersion, as an int so that the fan-out's threads read it without a lock.
    private volatile int _version = (int)StompVersion.V12;

    /// <summary>The version CONNECT negotiated (1.2 until then; CONNECT itself is read unescaped whatever it is).</summary>
    public StompVersion Version
    {
        get => (StompVersion)_version;
        set => _version = (int)value;
    }

    /// <summary>What the session's STOMP frames do (<see cref="StompConnection"/>).</summary>
    public StompConnection Connection { get; } = new();

    public override int Id => 2 + (int)Version;

    public override string Name => "stomp";

    public override string Subprotocol { get; } = subprotocol;

    public override WebSocketMessageType MessageType => WebSocketMessageType.Text;

    /// <summary>Text when the frames are UTF-8 (every frame but a binary publication's), else binary: a browser refuses a text message that is not UTF-8.</summary>
    public override WebSocketMessageType MessageTypeOf(ReadOnlySpan<byte> message) =>
        Utf8.IsValid(message) ? WebSocketMessageType.Text : WebSocketMessageType.Binary;

    /// <summary>STOMP frames may come in text or binary messages (a client sends a binary body in a binary one).</summary>
    public override bool Accepts(WebSocketMessageType type) => type is WebSocketMessageType.Text or WebSocketMessageType.Binary;

    public override bool ErrorEndsSession => true;

    public override string ContentType => "application/octet-stream";

    public override int SeparatorLength => 0;

    /// <summary>Registers the subscription id whose header every MESSAGE of <paramref name="channel"/> carries.</summary>
    public void AddSubscription(string channel, string id) =>
        _messagePrefixes[channel] = Encoding.UTF8.GetBytes($"MESSAGE\n{StompHeaders.Subscription}:{Escape(id)}\n");

    public void RemoveSubscription(string channel) => _messagePrefixes.TryRemove(channel, out _);

    /// <summary>The id a channel's messages name: the client's, or the channel itself for a subscription the server made.</summary>
    public string SubscriptionIdOf(string channel) => Connection.IdOf(channel) ?? channel;

    public override OutboundFrame ForSubscriber(in OutboundFrame message)
    {
        if (message.Channel is not { } channel || !message.IsPublication)
        {
            return message;
        }
        var prefix = _messagePrefixes.TryGetValue(channel, out var known)
            ? known
            : Encoding.UTF8.GetBytes($"MESSAGE\n{StompHeaders.Subscription}:{Escape(channel)}\n");
        var shared = message.Bytes.Span[MessageCommand.Length..];
        var bytes = new byte[prefix.Length + shared.Length];
        prefix.CopyTo(bytes, 0);
        shared.CopyTo(bytes.AsSpan(prefix.Length));
        return OutboundFrame.Publication(bytes, channel, message.Position);
    }

    /// <summary>
    /// A STOMP session reads its frames with <see cref="StompFrameReader"/> on its socket; a
    /// WebSocket session takes no <c>/send</c>, so nothing reads a batch here.
    /// </summary>
    public override FrameRead ReadFrame(ref ReadOnlyMemory<byte> rest, out ClientFrame? frame, out ProtocolError error)
    {
        rest = ReadOnlyMemory<byte>.Empty;
        frame = null;
        error = new(PubSubErrorCodes.BadRequest, "A STOMP session takes its frames on its socket.");
        return FrameRead.Invalid;
    }

    /// <summary>A heart-beat: one EOL. STOMP has no ping to answer; each side sends its own.</summary>
    public override byte[] Ping => HeartBeat;

    public override byte[] Pong => HeartBeat;

    public static byte[] ConnectedFrame(StompVersion version, string sessionId, string heartBeat) =>
        StompFrameWriter.Write(StompCommands.Connected, version,
        [
            new(StompHeaders.Version, StompVersions.Name(version)),
            new(StompHeaders.HeartBeat, heartBeat),
            new(StompHeaders.Session, sessionId),
            new(StompHeaders.Server, "PubSub/1"),
        ]);

    /// <summary>Not used: a STOMP session is connected by its CONNECT frame, answered with <see cref="ConnectedFrame"/>.</summary>
    public override byte[] Connected(string sessionId, string nodeId, string transport, int pingSeconds) => HeartBeat;

    /// <summary>
    /// The MESSAGE of a publication, without its subscription header (<see cref="ForSubscriber"/>
    /// adds it): <c>destination</c> (the channel), <c>message-id</c> and <c>ack</c> (both
    /// <c>{epoch}:{offset}:{channel}</c>), <c>content-type</c>, <c>x-epoch</c>, <c>x-offset</c>,
    /// <c>content-length</c>, and the data as the body.
    /// </summary>
    public override byte[] Message(Publication publication)
    {
        var messageId = MessageIds.Of(publication.Channel, publication.Position);
        return StompFrameWriter.Write(StompCommands.Message, Version,
        [
            new(StompHeaders.Destination, publication.Channel),
            new(StompHeaders.MessageId, messageId),
            new(StompHeaders.Ack, messageId),
            new(StompHeaders.ContentType, publication.Data.IsBinary ? "application/octet-stream" : "application/json"),
            new(StompHeaders.Epoch, publication.Epoch),
            new(StompHeaders.Offset, publication.Offset.ToString(CultureInfo.InvariantCulture)),
        ], publication.Data.Bytes.Span);
    }

    /// <summary>
    /// STOMP has no frame for a subscription the server made or a live gap: a heart-beat goes
    /// instead (it changes nothing), and a gap shows as a jump in <c>x-offset</c>.
    /// </summary>
    public override byte[] Subscribed(string channel, StreamPosition position, bool? recovered) => HeartBeat;

    public override byte[] Unsubscribed(string channel, string code, string reason) =>
        ErrorFrame(code, $"The server ended the subscription to '{channel}': {reason}", receiptId: null,
        [
            new(StompHeaders.Subscription, SubscriptionIdOf(channel)),
            new(StompHeaders.Destination, channel),
        ]);

    public override byte[] Disconnect(DisconnectReason reason) =>
        ErrorFrame("disconnect", reason == DisconnectReason.HeartbeatTimeout
            ? "Nothing arrived from the client within the negotiated heart-beat interval and its margin."
            : reason.Reason, receiptId: null,
        [
            new(StompHeaders.DisconnectCode, reason.Code.ToString(CultureInfo.InvariantCulture)),
            new(StompHeaders.Reconnect, reason.Reconnect ? "true" : "false"),
        ]);

    public override byte[] Error(string code, string message) => ErrorFrame(code, message, receiptId: null);

    /// <summary>
    /// An ERROR frame: <c>message</c> (what went wrong), <c>x-code</c> (the protocol's error code),
    /// <c>receipt-id</c> when it answers a frame that asked for a receipt, and the message again
    /// as a text body, where clients that show only the body find it.
    /// </summary>
    public byte[] ErrorFrame(string code, string message, string? receiptId, ReadOnlySpan<KeyValuePair<string, string>> extra = default)
    {
        List<KeyValuePair<string, string>> headers =
        [
            new(StompHeaders.Message, message),
            new(StompHeaders.Code, code),
            new(StompHeaders.ContentType, "text/plain;charset=utf-8"),
        ];
        if (receiptId is not null)
        {
            headers.Add(new(StompHeaders.ReceiptId, receiptId));
        }
        headers.AddRange(extra);
        return StompFrameWriter.Write(StompCommands.Error, Version, [.. headers], Encoding.UTF8.GetBytes(message));
    }

    public byte[] Receipt(string receiptId, ReadOnlySpan<KeyValuePair<string, string>> extra = default) =>
        StompFrameWriter.Write(StompCommands.Receipt, Version, [new(StompHeaders.ReceiptId, receiptId), .. extra]);

    // STOMP answers requests with RECEIPT frames (StompFrameHandler), never with these replies
    // of the PubSub protocol; nothing sends them to a STOMP session, and a heart-beat is harmless.
    public override byte[] ReplyError(long id, string code, string message) => Error(code, message);

    public override byte[] ReplyEmpty(long id) => HeartBeat;

    public override byte[] ReplyPosition(long id, StreamPosition position, bool? recovered = null) => HeartBeat;

    public override byte[] ReplyHistory(long id, HistoryPage page) => HeartBeat;

    public override long ReplyHistoryUpperBound(HistoryPage page) => HeartBeat.Length;

    public override byte[] ReplyPresence(long id, PresencePage page) => HeartBeat;

    public override byte[] ReplyPresenceStats(long id, PresenceStats stats) => HeartBeat;

    /// <summary>Joins and leaves have no STOMP frame: a heart-beat goes instead.</summary>
    public override byte[] Presence(PresenceEvent presence) => HeartBeat;

    private string Escape(string value) => StompFrameWriter.Escape(value, StompVersions.Escapes(Version, StompCommands.Message), Version);
}

/// <summary>
/// A MESSAGE's <c>message-id</c> (and <c>ack</c>): <c>{epoch}:{offset}:{channel}</c>, the
/// publication's position and channel, the same form as an SSE cursor entry. It is unique in a
/// session (a session subscribes to a channel once), and an ACK or NACK that carries it names
/// its channel.
/// </summary>
internal static class MessageIds
{
    public static string Of(string channel, StreamPosition position) =>
        $"{position.Epoch}:{position.Offset.ToString(CultureInfo.InvariantCulture)}:{channel}";

    /// <summary>The channel and position of a message id, or false when it is not one.</summary>
    public static bool TryParse(string? messageId, out string channel, out StreamPosition position)
    {
        channel = "";
        position = default;
        if (messageId is null || !TryParsePosition(messageId, out position, out var rest) || rest is not { Length: > 0 } name)
        {
            return false;
        }
        channel = name;
        return true;
    }

    /// <summary>
    /// Reads <c>{epoch}:{offset}</c> (an <c>x-since</c> header, or the start of a message id);
    /// <paramref name="rest"/> is what follows a second colon, or null when there is none.
    /// </summary>
    public static bool TryParsePosition(string text, out StreamPosition position, out string? rest)
    {
        position = default;
        rest = null;
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            return false;
        }
        var after = text.AsSpan(colon + 1);
        var next = after.IndexOf(':');
        var digits = next < 0 ? after : after[..next];
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var offset) || offset > StreamPosition.MaxOffset)
        {
            return false;
        }
        position = new StreamPosition(offset, text[..colon]);
        rest = next < 0 ? null : after[(next + 1)..].ToString();
        return true;
    }
}
