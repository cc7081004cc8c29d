using System.Text;
using System.Text.Json;

namespace PubSub.Client.Protocol;

/// <summary>
/// Parses one server frame (a JSON object, docs/protocol.md section 2.3) with a forward-only
/// reader: no intermediate document, and the <c>data</c> and <c>result</c> values are copied out
/// as standalone elements. Unknown fields are skipped and unknown types are returned as
/// <see cref="ServerFrameType.Unknown"/> (section 2); anything else that is not what the protocol
/// says throws <see cref="PubSubException"/> with code <c>bad_frame</c>, naming the problem.
/// </summary>
internal static class ServerFrameParser
{
    /// <summary>How much of a bad frame an error message quotes.</summary>
    private const int QuoteLength = 200;

    private static readonly JsonReaderOptions s_readerOptions = new() { MaxDepth = 64 };

    public static ServerFrame Parse(ReadOnlySpan<byte> json)
    {
        try
        {
            return ParseCore(json);
        }
        catch (JsonException e)
        {
            throw Bad($"The frame is not valid JSON ({e.Message})", json, e);
        }
    }

    private static ServerFrame ParseCore(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, s_readerOptions);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw Bad("A frame must be a JSON object", json);
        }

        var f = new FrameFields();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.ValueSpan;
            reader.Read();
            switch (name)
            {
                case var _ when name.SequenceEqual("type"u8): f.Type = String(ref reader, "type", json); break;
                case var _ when name.SequenceEqual("session"u8): f.Session = String(ref reader, "session", json); break;
                case var _ when name.SequenceEqual("node"u8): f.Node = String(ref reader, "node", json); break;
                case var _ when name.SequenceEqual("transport"u8): f.Transport = String(ref reader, "transport", json); break;
                case var _ when name.SequenceEqual("channel"u8): f.Channel = String(ref reader, "channel", json); break;
                case var _ when name.SequenceEqual("epoch"u8): f.Epoch = String(ref reader, "epoch", json); break;
                case var _ when name.SequenceEqual("message"u8): f.Message = String(ref reader, "message", json); break;
                case var _ when name.SequenceEqual("reason"u8): f.Reason = String(ref reader, "reason", json); break;
                case var _ when name.SequenceEqual("user"u8): f.User = String(ref reader, "user", json); break;
                case var _ when name.SequenceEqual("info"u8): f.Info = JsonElement.ParseValue(ref reader); break;
                case var _ when name.SequenceEqual("id"u8): f.Id = Integer(ref reader, "id", json); break;
                case var _ when name.SequenceEqual("offset"u8): f.Offset = Integer(ref reader, "offset", json); break;
                case var _ when name.SequenceEqual("ping"u8): f.Ping = Integer(ref reader, "ping", json); break;
                case var _ when name.SequenceEqual("version"u8): f.Version = Integer(ref reader, "version", json); break;
                case var _ when name.SequenceEqual("recovered"u8): f.Recovered = Boolean(ref reader, "recovered", json); break;
                case var _ when name.SequenceEqual("reconnect"u8): f.Reconnect = Boolean(ref reader, "reconnect", json); break;
                case var _ when name.SequenceEqual("code"u8):
                    // A string in error frames and replies, an integer in disconnect frames.
                    if (reader.TokenType == JsonTokenType.String)
                    {
                        f.CodeText = reader.GetString();
                    }
                    else
                    {
                        f.CodeNumber = Integer(ref reader, "code", json);
                    }
                    break;
                case var _ when name.SequenceEqual("result"u8): f.Result = JsonElement.ParseValue(ref reader); break;
                case var _ when name.SequenceEqual("error"u8): f.Error = JsonElement.ParseValue(ref reader); break;
                case var _ when name.SequenceEqual("data"u8): f.Data = JsonElement.ParseValue(ref reader); break;
                case var _ when name.SequenceEqual("binary"u8):
                    f.HasBinary = true;
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        throw Bad("'binary' must be a base64 string", json);
                    }
                    if (!reader.TryGetBytesFromBase64(out f.Binary))
                    {
                        f.BinaryInvalid = true;
                    }
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }
        if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
        {
            throw Bad("A frame must be exactly one JSON object", json);
        }
        return Build(f, json);
    }

    /// <summary>
    /// The frame that the fields read from a server frame (in either encoding) make, checked
    /// against what its type needs; <paramref name="json"/>, the frame as it came, is quoted when
    /// it is not a valid frame.
    /// </summary>
    public static ServerFrame Build(in FrameFields f, ReadOnlySpan<byte> json)
    {
        var (type, session, node, transport, channel, epoch) = (f.Type, f.Session, f.Node, f.Transport, f.Channel, f.Epoch);
        var (codeText, message, reason, id, offset, codeNumber) = (f.CodeText, f.Message, f.Reason, f.Id, f.Offset, f.CodeNumber);
        var (ping, version, recovered, reconnect) = (f.Ping, f.Version, f.Recovered, f.Reconnect);
        var (result, data, error, binary, hasBinary, binaryInvalid) = (f.Result, f.Data, f.Error, f.Binary, f.HasBinary, f.BinaryInvalid);
        if (type is null)
        {
            throw Bad("The frame has no 'type'", json);
        }

        if (codeNumber is not null && type is "error" or "unsubscribed")
        {
            throw Bad($"An '{type}' frame's 'code' must be a string", json);
        }

        switch (type)
        {
            case "connected":
                if (version is { } v && v != 1)
                {
                    throw Bad($"The server speaks protocol version {v}; this client speaks version 1", json);
                }
                return new ServerFrame
                {
                    Type = ServerFrameType.Connected,
                    TypeName = type,
                    Session = Required(session, "session", type, json),
                    Node = node,
                    Transport = transport,
                    Ping = ping is { } p and >= 0 and <= int.MaxValue ? (int)p : 0,
                };

            case "reply":
                var replyId = Required(id, "id", type, json);
                if (error.ValueKind == JsonValueKind.Object)
                {
                    var (code, text) = ReadError(error, json);
                    return new ServerFrame { Type = ServerFrameType.Reply, TypeName = type, Id = replyId, ErrorCode = code, ErrorMessage = text };
                }
                if (result.ValueKind != JsonValueKind.Object)
                {
                    throw Bad("A reply needs a 'result' or an 'error' object", json);
                }
                return new ServerFrame { Type = ServerFrameType.Reply, TypeName = type, Id = replyId, Result = result };

            case "error":
                return new ServerFrame
                {
                    Type = ServerFrameType.Error,
                    TypeName = type,
                    ErrorCode = Required(codeText, "code", type, json),
                    ErrorMessage = message ?? "",
                };

            case "message":
                var hasData = data.ValueKind != JsonValueKind.Undefined;
                if (hasData == hasBinary)
                {
                    throw Bad("A message needs exactly one of 'data' and 'binary'", json);
                }
                return new ServerFrame
                {
                    Type = ServerFrameType.Message,
                    TypeName = type,
                    Channel = Required(channel, "channel", type, json),
                    Epoch = Required(epoch, "epoch", type, json),
                    Offset = RequiredOffset(offset, type, json),
                    Data = data,
                    Binary = binary,
                    BinaryInvalid = binaryInvalid,
                };

            case "subscribed":
                return new ServerFrame
                {
                    Type = ServerFrameType.Subscribed,
                    TypeName = type,
                    Channel = Required(channel, "channel", type, json),
                    Epoch = Required(epoch, "epoch", type, json),
                    Offset = Required(offset, "offset", type, json),
                    Recovered = recovered,
                };

            case "unsubscribed":
                return new ServerFrame
                {
                    Type = ServerFrameType.Unsubscribed,
                    TypeName = type,
                    Channel = Required(channel, "channel", type, json),
                    ErrorCode = Required(codeText, "code", type, json),
                    ErrorMessage = reason ?? "",
                };

            case "disconnect":
                if (codeText is not null)
                {
                    throw Bad("A 'disconnect' frame's 'code' must be an integer", json);
                }
                var disconnectCode = Required(codeNumber, "code", type, json);
                if (disconnectCode is < 0 or > 4999)
                {
                    throw Bad($"Disconnect code {disconnectCode} is out of range", json);
                }
                return new ServerFrame
                {
                    Type = ServerFrameType.Disconnect,
                    TypeName = type,
                    DisconnectCode = (int)disconnectCode,
                    Reason = reason ?? "",
                    // Missing: the code decides, by the same rule as a WebSocket close code (section 2.8).
                    Reconnect = reconnect ?? ErrorRules.Reconnects((int)disconnectCode),
                };

            case "join" or "leave":
                return new ServerFrame
                {
                    Type = type == "join" ? ServerFrameType.Join : ServerFrameType.Leave,
                    TypeName = type,
                    Channel = Required(channel, "channel", type, json),
                    Session = Required(session, "session", type, json),
                    User = f.User,
                    Info = f.Info,
                };

            case "ping":
                return new ServerFrame { Type = ServerFrameType.Ping, TypeName = type };

            case "pong":
                return new ServerFrame { Type = ServerFrameType.Pong, TypeName = type };

            default:
                return new ServerFrame { Type = ServerFrameType.Unknown, TypeName = type };
        }
    }

    private static (string Code, string Message) ReadError(JsonElement error, ReadOnlySpan<byte> json)
    {
        if (!error.TryGetProperty("code"u8, out var code) || code.ValueKind != JsonValueKind.String || code.GetString() is not { Length: > 0 } text)
        {
            throw Bad("A reply's 'error' needs a string 'code'", json);
        }
        var message = error.TryGetProperty("message"u8, out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : "";
        return (text, message);
    }

    private static string String(ref Utf8JsonReader reader, string field, ReadOnlySpan<byte> json) =>
        reader.TokenType == JsonTokenType.String ? reader.GetString()! : throw Bad($"'{field}' must be a string", json);

    private static long Integer(ref Utf8JsonReader reader, string field, ReadOnlySpan<byte> json) =>
        reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var value) ? value : throw Bad($"'{field}' must be an integer", json);

    private static bool Boolean(ref Utf8JsonReader reader, string field, ReadOnlySpan<byte> json) =>
        reader.TokenType switch
        {
            JsonTokenType.True => true,
            JsonTokenType.False => false,
            _ => throw Bad($"'{field}' must be true or false", json),
        };

    private static T Required<T>(T? value, string field, string type, ReadOnlySpan<byte> json) where T : class =>
        value ?? throw Bad($"A '{type}' frame needs '{field}'", json);

    private static long Required(long? value, string field, string type, ReadOnlySpan<byte> json) =>
        value ?? throw Bad($"A '{type}' frame needs '{field}'", json);

    private static long RequiredOffset(long? value, string type, ReadOnlySpan<byte> json) =>
        Required(value, "offset", type, json) is var offset and >= 1 ? offset : throw Bad($"A '{type}' frame's offset must be at least 1", json);

    public static PubSubException Bad(string problem, ReadOnlySpan<byte> json, Exception? inner = null) =>
        new(PubSubErrorCodes.BadFrame, $"{problem}: {Quote(json)}", inner);

    /// <summary>The start of a frame, as text (JSON) or, when it is not text (MessagePack), as hex, for an error message.</summary>
    public static string Quote(ReadOnlySpan<byte> json)
    {
        var start = json[..Math.Min(json.Length, QuoteLength)];
        var text = System.Text.Unicode.Utf8.IsValid(start) && !start.ContainsAnyInRange((byte)0, (byte)0x1f)
            ? Encoding.UTF8.GetString(start)
            : Convert.ToHexStringLower(start);
        return json.Length > QuoteLength ? $"'{text}…' ({json.Length} bytes)" : $"'{text}'";
    }
}

/// <summary>The fields of a server frame that this client reads, as a parser of either encoding found them.</summary>
internal struct FrameFields
{
    public string? Type, Session, Node, Transport, Channel, Epoch, CodeText, Message, Reason, User;
    public long? Id, Offset, CodeNumber, Ping, Version;
    public bool? Recovered, Reconnect;
    public JsonElement Result, Data, Error, Info;
    public byte[]? Binary;
    public bool HasBinary, BinaryInvalid;
}
