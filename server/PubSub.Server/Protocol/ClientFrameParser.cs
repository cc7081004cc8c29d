using System.Text.Json;
using System.Text.Unicode;

namespace PubSub.Protocol;

/// <summary>
/// Reads one client frame (docs/protocol.md, section 2.2) from its UTF-8 JSON text. Unknown fields
/// are skipped; a frame that is not valid JSON, or lacks what its type needs, gives a
/// <see cref="ProtocolError"/> that carries the frame's id when one was readable.
/// </summary>
internal static class ClientFrameParser
{
    public const int DefaultHistoryLimit = 100;
    public const int MaxHistoryLimit = 1000;

    // Ids must survive a round trip through a JavaScript number.
    internal const long MaxId = StreamPosition.MaxOffset;

    internal const string SinceProblem = "'since' must be an object {\"epoch\": string, \"offset\": integer from 0 to 2^53-1}.";
    internal const string IdProblem = "'id' must be an integer from 0 to 2^53-1.";
    internal const string BothDataProblem = "A frame may carry 'data' or 'binary', not both.";
    internal static readonly string LimitProblem = $"'limit' must be an integer from 1 to {MaxHistoryLimit}.";

    public static bool TryParse(ReadOnlySpan<byte> utf8Json, out ClientFrame? frame, out ProtocolError error)
    {
        frame = null;
        var fields = new ClientFrameFields();

        try
        {
            var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions { MaxDepth = 64 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = new(PubSubErrorCodes.BadRequest, "A frame must be a JSON object.");
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                // ValueTextEquals, unlike comparing ValueSpan, also matches escaped names ("\u0074ype").
                var field = FieldOf(ref reader);
                reader.Read();
                if (field == Field.Type)
                {
                    fields.Type = ReadString(ref reader, "type", ref fields.Problem);
                }
                else if (field == Field.Id)
                {
                    fields.Id = ReadId(ref reader, ref fields.Problem);
                }
                else if (field == Field.Channel)
                {
                    fields.Channel = ReadString(ref reader, "channel", ref fields.Problem);
                }
                else if (field == Field.Since)
                {
                    fields.Since = ReadPosition(ref reader, ref fields.Problem);
                }
                else if (field == Field.Data)
                {
                    if (fields.Data is not null)
                    {
                        fields.Problem ??= BothDataProblem;
                    }
                    try
                    {
                        fields.Data = ReadData(ref reader, utf8Json);
                    }
                    catch (ArgumentException e)
                    {
                        fields.Problem ??= $"'data' is refused: {e.Message}";
                    }
                }
                else if (field == Field.Binary)
                {
                    if (fields.Data is not null)
                    {
                        fields.Problem ??= BothDataProblem;
                    }
                    if (reader.TokenType == JsonTokenType.String && reader.TryGetBytesFromBase64(out var bytes))
                    {
                        fields.Data = Payload.FromBinary(bytes);
                    }
                    else
                    {
                        fields.Problem ??= "'binary' must be a base64 string.";
                        reader.Skip();
                    }
                }
                else if (field == Field.Limit)
                {
                    if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var value) && value is >= 1 and <= MaxHistoryLimit)
                    {
                        fields.Limit = value;
                    }
                    else
                    {
                        fields.Problem ??= LimitProblem;
                    }
                }
                else if (field == Field.IdempotencyKey)
                {
                    fields.IdempotencyKey = ReadString(ref reader, "idempotencyKey", ref fields.Problem);
                }
                else
                {
                    reader.Skip();
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject || HasMoreTokens(ref reader))
            {
                error = new(PubSubErrorCodes.BadRequest, "A frame must be exactly one JSON object; separate frames with newlines.");
                return false;
            }
        }
        catch (JsonException)
        {
            error = new(PubSubErrorCodes.BadRequest, "The frame is not valid JSON.");
            return false;
        }

        return Complete(fields, out frame, out error);
    }

    /// <summary>
    /// The value of <c>data</c>, from the reader on its first token to past its last. What clients
    /// send is mostly compact JSON without escapes (JSON.stringify's output): that text is already
    /// what <see cref="Payload.FromJson(ReadOnlySpan{byte})"/> would make of it, so it is copied once
    /// as it stands instead of parsed into a document and written out again. Anything else (white
    /// space between tokens, escapes, which may hide a lone surrogate) goes the long way.
    /// </summary>
    private static Payload ReadData(ref Utf8JsonReader reader, ReadOnlySpan<byte> frame)
    {
        var start = (int)reader.TokenStartIndex;
        // Skip reads, and so validates, the whole value.
        reader.Skip();
        var text = frame[start..(int)reader.BytesConsumed];
        return IsCompactWithoutEscapes(text) && Utf8.IsValid(text) ? Payload.FromTrustedJson(text.ToArray()) : Payload.FromJson(text);
    }

    /// <summary>
    /// Whether valid JSON <paramref name="text"/> has no backslash and no white space outside its
    /// strings. Without backslashes every quote opens or closes a string.
    /// </summary>
    internal static bool IsCompactWithoutEscapes(ReadOnlySpan<byte> text)
    {
        var inString = false;
        foreach (var b in text)
        {
            switch (b)
            {
                case (byte)'\\':
                    return false;
                case (byte)'"':
                    inString = !inString;
                    break;
                case (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' when !inString:
                    return false;
            }
        }
        return true;
    }

    /// <summary>
    /// The checks every encoding's parser ends with (docs/protocol.md, sections 2.2 and 6.1): the
    /// first field error, a missing or unknown type, and what the type needs. Every encoding
    /// answers the same frame with the same code and message.
    /// </summary>
    internal static bool Complete(in ClientFrameFields fields, out ClientFrame? frame, out ProtocolError error)
    {
        frame = null;
        var (type, id, channel, since, data, limit, idempotencyKey, fieldError) =
            (fields.Type, fields.Id, fields.Channel, fields.Since, fields.Data, fields.Limit, fields.IdempotencyKey, fields.Problem);
        if (idempotencyKey is not null && !IdempotencyKey.IsValid(idempotencyKey))
        {
            fieldError ??= $"'idempotencyKey' must be 1 to {IdempotencyKey.MaxLength} characters.";
        }
        if (fieldError is not null)
        {
            error = new(PubSubErrorCodes.BadRequest, fieldError, id);
            return false;
        }

        if (type is null)
        {
            error = new(PubSubErrorCodes.BadRequest, "The frame has no 'type'.", id);
            return false;
        }

        ClientFrameType? frameType = type switch
        {
            "subscribe" => ClientFrameType.Subscribe,
            "unsubscribe" => ClientFrameType.Unsubscribe,
            "publish" => ClientFrameType.Publish,
            "history" => ClientFrameType.History,
            "presence" => ClientFrameType.Presence,
            "presence_stats" => ClientFrameType.PresenceStats,
            "ping" => ClientFrameType.Ping,
            "pong" => ClientFrameType.Pong,
            "close" => ClientFrameType.Close,
            _ => null,
        };
        if (frameType is not { } known)
        {
            error = new(PubSubErrorCodes.UnknownType, $"Unknown frame type '{Truncate(type)}'.", id);
            return false;
        }

        var needsChannel = known is ClientFrameType.Subscribe or ClientFrameType.Unsubscribe or ClientFrameType.Publish or ClientFrameType.History
            or ClientFrameType.Presence or ClientFrameType.PresenceStats;
        if (needsChannel && channel is null)
        {
            error = new(PubSubErrorCodes.BadRequest, $"A '{type}' frame needs a 'channel'.", id);
            return false;
        }
        if (known == ClientFrameType.Publish && data is null)
        {
            error = new(PubSubErrorCodes.BadRequest, "A 'publish' frame needs 'data' or 'binary'.", id);
            return false;
        }

        frame = new ClientFrame { Type = known, Id = id, Channel = channel, Since = since, Data = data, Limit = limit, IdempotencyKey = idempotencyKey };
        error = default;
        return true;
    }

    private static bool HasMoreTokens(ref Utf8JsonReader reader)
    {
        try
        {
            return reader.Read();
        }
        catch (JsonException)
        {
            // Something other than whitespace follows the object.
            return true;
        }
    }

    private static string? ReadString(ref Utf8JsonReader reader, string field, ref string? fieldError)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            fieldError ??= $"'{field}' must be a string.";
            reader.Skip();
            return null;
        }
        try
        {
            return reader.GetString();
        }
        catch (InvalidOperationException)
        {
            // The escapes make no UTF-16 text ("\ud800", a lone surrogate).
            fieldError ??= $"'{field}' is not valid Unicode: it holds an escaped lone surrogate.";
            return null;
        }
    }

    /// <summary>
    /// Whether the current property name is <paramref name="name"/>. A name whose escapes make no
    /// UTF-16 text is no name the parser knows, so it is skipped like any unknown field.
    /// </summary>
    private static bool NameIs(ref Utf8JsonReader reader, ReadOnlySpan<byte> name)
    {
        try
        {
            return reader.ValueTextEquals(name);
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static long? ReadId(ref Utf8JsonReader reader, ref string? fieldError)
    {
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var id) && id is >= 0 and <= MaxId)
        {
            return id;
        }
        fieldError ??= IdProblem;
        reader.Skip();
        return null;
    }

    private static StreamPosition? ReadPosition(ref Utf8JsonReader reader, ref string? fieldError)
    {
        const string Shape = SinceProblem;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            fieldError ??= Shape;
            reader.Skip();
            return null;
        }

        string? epoch = null;
        long? offset = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isEpoch = NameIs(ref reader, "epoch"u8);
            var isOffset = NameIs(ref reader, "offset"u8);
            reader.Read();
            if (isEpoch && reader.TokenType == JsonTokenType.String)
            {
                epoch = ReadString(ref reader, "since.epoch", ref fieldError);
            }
            else if (isOffset && reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var value) && StreamPosition.IsValidOffset(value))
            {
                offset = value;
            }
            else
            {
                reader.Skip();
            }
        }

        if (epoch is null || offset is null)
        {
            fieldError ??= Shape;
            return null;
        }
        return new StreamPosition(offset.Value, epoch);
    }

    private enum Field
    {
        Other,
        Type,
        Id,
        Channel,
        Since,
        Data,
        Binary,
        Limit,
        IdempotencyKey,
    }

    private static Field FieldOf(ref Utf8JsonReader reader) =>
        NameIs(ref reader, "type"u8) ? Field.Type
        : NameIs(ref reader, "id"u8) ? Field.Id
        : NameIs(ref reader, "channel"u8) ? Field.Channel
        : NameIs(ref reader, "since"u8) ? Field.Since
        : NameIs(ref reader, "data"u8) ? Field.Data
        : NameIs(ref reader, "binary"u8) ? Field.Binary
        : NameIs(ref reader, "limit"u8) ? Field.Limit
        : NameIs(ref reader, "idempotencyKey"u8) ? Field.IdempotencyKey
        : Field.Other;

    internal static string Truncate(string value) => value.Length <= 40 ? value : value[..40] + "…";
}
