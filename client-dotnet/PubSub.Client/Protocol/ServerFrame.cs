using System.Text.Json;

namespace PubSub.Client.Protocol;

/// <summary>The server frame types (docs/protocol.md, section 2.3) this client acts on.</summary>
internal enum ServerFrameType
{
    /// <summary>A type this client does not know; ignored, as the protocol asks.</summary>
    Unknown,
    Connected,
    Reply,
    Error,
    Message,
    Subscribed,
    Unsubscribed,
    Join,
    Leave,
    Ping,
    Pong,
    Disconnect,
}

/// <summary>
/// One parsed server frame. Only the fields of its type are set; the parser has checked that
/// they are present and well typed, so handlers need no checks of their own.
/// </summary>
internal sealed class ServerFrame
{
    public ServerFrameType Type { get; init; }

    /// <summary>The <c>type</c> as sent (for logs, and for frame types this client does not know).</summary>
    public string TypeName { get; init; } = "";

    // connected
    public string? Session { get; init; }
    public string? Node { get; init; }
    public string? Transport { get; init; }
    public int Ping { get; init; }

    // reply
    public long Id { get; init; }

    /// <summary>A reply's <c>result</c> object; undefined for an error reply.</summary>
    public JsonElement Result { get; init; }

    // reply error, error, unsubscribed (code, message / reason)
    public string? ErrorCode { get; init; }
    public string? ErrorMessage { get; init; }

    // message, subscribed, unsubscribed
    public string? Channel { get; init; }
    public string? Epoch { get; init; }
    public long Offset { get; init; }
    public bool? Recovered { get; init; }

    /// <summary>A message's JSON data (undefined when it is binary).</summary>
    public JsonElement Data { get; init; }

    /// <summary>A message's decoded bytes when it is binary.</summary>
    public byte[]? Binary { get; init; }

    /// <summary>A binary message whose <c>binary</c> is not valid base64: its position is valid, its data is not.</summary>
    public bool BinaryInvalid { get; init; }

    // join, leave (and Session, Channel)
    public string? User { get; init; }

    /// <summary>A join's or leave's <c>info</c>: the JSON the application attached to that session; undefined when none.</summary>
    public JsonElement Info { get; init; }

    // disconnect
    public int DisconnectCode { get; init; }
    public string? Reason { get; init; }
    public bool Reconnect { get; init; }

    public bool IsErrorReply => ErrorCode is not null;

    public StreamPosition Position => new(Offset, Epoch!);
}
