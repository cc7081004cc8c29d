using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Unicode;
using MessagePack;

namespace PubSub.Protocol;

/// <summary>
/// Publication data between its stored form (minified JSON text) and its MessagePack form
/// (docs/protocol.md, section 6.1): a JSON integer that fits in 64 bits is a MessagePack integer,
/// any other number a float 64; strings, booleans, null, arrays and objects map one to one, in
/// order. Only the JSON data model crosses: bin, ext, non-str map keys, NaN and infinities are
/// refused, so every value read here has exactly one JSON form.
/// </summary>
internal static class MessagePackData
{
    /// <summary>How deep <c>data</c> may nest (docs/protocol.md, section 6.1).</summary>
    public const int MaxDepth = 64;

    /// <summary>Writes the stored JSON <paramref name="json"/> as the equivalent MessagePack value.</summary>
    public static void WriteFromJson(ref MessagePackWriter writer, ReadOnlyMemory<byte> json)
    {
        // Stored data came through this server's parsers (at most 64 deep); the margin is for
        // data another version of the server stored.
        using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 2 * MaxDepth });
        Write(ref writer, document.RootElement);
    }

    private static void Write(ref MessagePackWriter writer, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteMapHeader(value.GetPropertyCount());
                foreach (var property in value.EnumerateObject())
                {
                    var name = JsonMarshal.GetRawUtf8PropertyName(property);
                    if (name.Contains((byte)'\\'))
                    {
                        writer.Write(property.Name);
                    }
                    else
                    {
                        writer.WriteString(name);
                    }
                    Write(ref writer, property.Value);
                }
                break;
            case JsonValueKind.Array:
                writer.WriteArrayHeader(value.GetArrayLength());
                foreach (var item in value.EnumerateArray())
                {
                    Write(ref writer, item);
                }
                break;
            case JsonValueKind.String:
                // The raw value is the quoted JSON text; without escapes its inside is the string's UTF-8.
                var raw = JsonMarshal.GetRawUtf8Value(value)[1..^1];
                if (raw.Contains((byte)'\\'))
                {
                    writer.Write(value.GetString());
                }
                else
                {
                    writer.WriteString(raw);
                }
                break;
            case JsonValueKind.Number:
                if (value.TryGetInt64(out var signed))
                {
                    writer.Write(signed);
                }
                else if (value.TryGetUInt64(out var unsigned))
                {
                    writer.Write(unsigned);
                }
                else
                {
                    // A fraction, an exponent, or too large for 64 bits. Parsing rounds to the
                    // nearest float 64, and a number beyond its range becomes an infinity.
                    writer.Write(double.Parse(JsonMarshal.GetRawUtf8Value(value), NumberStyles.Float, CultureInfo.InvariantCulture));
                }
                break;
            case JsonValueKind.True:
                writer.Write(true);
                break;
            case JsonValueKind.False:
                writer.Write(false);
                break;
            default:
                writer.WriteNil();
                break;
        }
    }

    /// <summary>
    /// At least the length of the MessagePack form of the stored JSON <paramref name="json"/>,
    /// found by one pass of the reader, building nothing: a container header takes at most 5
    /// bytes, a number 9, a string its escaped length (never less than its UTF-8) and a header.
    /// </summary>
    public static long UpperBoundFromJson(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 2 * MaxDepth });
        long length = 0;
        while (reader.Read())
        {
            length += reader.TokenType switch
            {
                JsonTokenType.StartObject or JsonTokenType.StartArray => 5,
                JsonTokenType.EndObject or JsonTokenType.EndArray => 0,
                JsonTokenType.String or JsonTokenType.PropertyName => StrLength(reader.ValueSpan.Length),
                JsonTokenType.Number => 9,
                _ => 1,
            };
        }
        return length;
    }

    private static long StrLength(int utf8Length) => utf8Length + utf8Length switch
    {
        < 32 => 1,
        < 256 => 2,
        < 65536 => 3,
        _ => 5,
    };

    /// <summary>
    /// The MessagePack value at <paramref name="reader"/> as stored JSON data, or null with
    /// <paramref name="problem"/> when it holds something outside the JSON data model. The value
    /// must already be known to be complete and at most <see cref="MaxDepth"/> deep.
    /// </summary>
    public static Payload? ReadAsJson(ref MessagePackReader reader, out string? problem)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        using (var writer = new Utf8JsonWriter(buffer, ServerFrames.WriterOptions))
        {
            problem = WriteAsJson(ref reader, writer);
            if (problem is not null)
            {
                return null;
            }
        }
        return Payload.FromTrustedJson(buffer.WrittenSpan.ToArray());
    }

    private static string? WriteAsJson(ref MessagePackReader reader, Utf8JsonWriter writer)
    {
        switch (reader.NextMessagePackType)
        {
            case MessagePackType.Nil:
                reader.ReadNil();
                writer.WriteNullValue();
                return null;
            case MessagePackType.Boolean:
                writer.WriteBooleanValue(reader.ReadBoolean());
                return null;
            case MessagePackType.Integer:
                if (reader.NextCode == MessagePackCode.UInt64)
                {
                    writer.WriteNumberValue(reader.ReadUInt64());
                }
                else
                {
                    writer.WriteNumberValue(reader.ReadInt64());
                }
                return null;
            case MessagePackType.Float:
                if (reader.NextCode == MessagePackCode.Float32)
                {
                    var single = reader.ReadSingle();
                    if (!float.IsFinite(single))
                    {
                        return NotFinite;
                    }
                    writer.WriteNumberValue(single);
                }
                else
                {
                    var number = reader.ReadDouble();
                    if (!double.IsFinite(number))
                    {
                        return NotFinite;
                    }
                    writer.WriteNumberValue(number);
                }
                return null;
            case MessagePackType.String:
                if (!TryReadUtf8(ref reader, out var text))
                {
                    return NotUtf8;
                }
                writer.WriteStringValue(text);
                return null;
            case MessagePackType.Array:
                var items = reader.ReadArrayHeader();
                writer.WriteStartArray();
                for (var i = 0; i < items; i++)
                {
                    if (WriteAsJson(ref reader, writer) is { } problem)
                    {
                        return problem;
                    }
                }
                writer.WriteEndArray();
                return null;
            case MessagePackType.Map:
                var entries = reader.ReadMapHeader();
                writer.WriteStartObject();
                for (var i = 0; i < entries; i++)
                {
                    if (reader.NextMessagePackType != MessagePackType.String)
                    {
                        return "'data' is refused: a map key must be a string (JSON objects have string keys).";
                    }
                    if (!TryReadUtf8(ref reader, out var name))
                    {
                        return NotUtf8;
                    }
                    writer.WritePropertyName(name);
                    if (WriteAsJson(ref reader, writer) is { } problem)
                    {
                        return problem;
                    }
                }
                writer.WriteEndObject();
                return null;
            case MessagePackType.Binary:
                return "'data' is refused: it holds a bin; bytes travel in 'binary', not inside 'data'.";
            default:
                return "'data' is refused: it holds a MessagePack extension type, which JSON cannot carry.";
        }
    }

    private const string NotFinite = "'data' is refused: it holds NaN or an infinity, which JSON cannot carry.";
    private const string NotUtf8 = "'data' is refused: a string is not valid UTF-8.";

    /// <summary>Reads a str as its UTF-8 bytes; false when they are not valid UTF-8.</summary>
    public static bool TryReadUtf8(ref MessagePackReader reader, out ReadOnlySpan<byte> utf8)
    {
        // The reader runs over one array, so every string is one span.
        var sequence = reader.ReadStringSequence() ?? default;
        utf8 = sequence.FirstSpan;
        return Utf8.IsValid(utf8);
    }
}
