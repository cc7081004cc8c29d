using System.Net.WebSockets;
using System.Text.Json;

namespace PubSub.Bench.Protocols;

/// <summary>What a frame that is not a delivery means to the generator.</summary>
public enum FrameKind
{
    Other,
    /// <summary>The session is open: PubSub's <c>connected</c>, SignalR's handshake response.</summary>
    Connected,
    /// <summary>A subscription the client did not ask for by frame (PubSub SSE and poll URLs).</summary>
    Subscribed,
    /// <summary>The answer to a request with an id: PubSub's <c>reply</c>, SignalR's completion.</summary>
    Reply,
    Ping,
    /// <summary>The server ends the session: PubSub's <c>disconnect</c>, SignalR's close, a failed handshake.</summary>
    Disconnect,
    Error,
}

/// <summary>
/// A classified frame. <see cref="Text"/> carries what the kind needs: an error code or message,
/// the session id of <c>connected</c>.
/// </summary>
public readonly record struct FrameInfo(FrameKind Kind, long Id = 0, string? Text = null)
{
    public bool Failed => Kind == FrameKind.Reply && Text is not null;
}

/// <summary>
/// One server's wire protocol as the generator speaks it: how frames are delimited, how the few
/// frames it sends are written, and what the frames it receives mean. Deliveries are recognised
/// before this is asked (<see cref="BenchPayload.TryRead"/>), so classifying may be slow.
/// </summary>
public abstract class WireProtocol
{
    /// <summary><c>pubsub</c> or <c>signalr</c>, as results name the server.</summary>
    public abstract string Name { get; }

    /// <summary>The type of the WebSocket messages the protocol sends: text for JSON, binary for MessagePack.</summary>
    public virtual WebSocketMessageType MessageType => WebSocketMessageType.Text;

    /// <summary>
    /// Finds the first frame at the start of <paramref name="data"/>: where it lies and how many
    /// bytes it takes with its delimiter. False when the frame is not complete yet (the rest comes
    /// in the next unit); <paramref name="unitComplete"/> says that the unit ends here.
    /// </summary>
    public abstract bool TryCutFrame(ReadOnlySpan<byte> data, bool unitComplete, out Range frame, out int consumed);

    /// <summary>
    /// The framing of the JSON protocols: a frame ends at <paramref name="separator"/>, or, when
    /// <paramref name="unitEndsFrame"/> (PubSub's batches), at the end of its unit too. SignalR
    /// records end only at their separator and may straddle units.
    /// </summary>
    protected static bool CutAtSeparator(ReadOnlySpan<byte> data, byte separator, bool unitEndsFrame, bool unitComplete, out Range frame, out int consumed)
    {
        var end = data.IndexOf(separator);
        if (end >= 0)
        {
            frame = ..end;
            consumed = end + 1;
            return true;
        }
        if (unitComplete && unitEndsFrame)
        {
            frame = ..data.Length;
            consumed = data.Length;
            return true;
        }
        frame = default;
        consumed = 0;
        return false;
    }

    /// <summary>Sent first on a new connection, if the protocol has a handshake.</summary>
    public abstract byte[]? Handshake { get; }

    /// <summary>The answer to a server ping, if the protocol expects one.</summary>
    public abstract byte[]? Pong { get; }

    /// <summary>Sent every <see cref="KeepAliveInterval"/> by each client, if the server times out silent clients.</summary>
    public abstract byte[]? KeepAlive { get; }

    public virtual TimeSpan KeepAliveInterval => TimeSpan.FromSeconds(10);

    public abstract byte[] Subscribe(string channel, long id);

    public abstract PublishWriter CreatePublishWriter(string channel, int payloadSize);

    public abstract FrameInfo Classify(ReadOnlySpan<byte> frame);

    /// <summary>Parses a frame that is not a delivery; those are few, so a document is cheap enough.</summary>
    protected static bool TryParseObject(ReadOnlySpan<byte> frame, out JsonElement root)
    {
        try
        {
            var reader = new Utf8JsonReader(frame);
            root = JsonElement.ParseValue(ref reader);
            return root.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            root = default;
            return false;
        }
    }

    protected static string? TextOf(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
}

/// <summary>
/// Writes publish frames for one channel into one reusable buffer: the text around the payload is
/// prepared once, so a publication costs a copy and two hex numbers.
/// </summary>
public sealed class PublishWriter
{
    private readonly byte[] _buffer;
    private readonly int _prefixLength;
    private readonly int _payloadSize;

    public PublishWriter(ReadOnlySpan<byte> prefix, int payloadSize, ReadOnlySpan<byte> suffix)
    {
        _prefixLength = prefix.Length;
        _payloadSize = payloadSize;
        _buffer = new byte[prefix.Length + payloadSize + suffix.Length];
        prefix.CopyTo(_buffer);
        suffix.CopyTo(_buffer.AsSpan(prefix.Length + payloadSize));
    }

    /// <summary>The frame for this publication; valid until the next call.</summary>
    public ReadOnlyMemory<byte> Write(long timestamp, long sequence)
    {
        BenchPayload.Write(_buffer.AsSpan(_prefixLength, _payloadSize), _payloadSize, timestamp, sequence);
        return _buffer;
    }
}
