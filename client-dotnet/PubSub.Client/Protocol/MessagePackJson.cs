using System.Buffers;
using System.Text.Json;
using MessagePack;

namespace PubSub.Client.Protocol;

/// <summary>
/// MessagePack values and JSON values, one into the other, by the equivalence of docs/protocol.md
/// section 6.1: integers that fit 64 bits are integers, other numbers float 64, bin (which data
/// does not hold, but a history reply's publications do) base64 text. Nesting is bounded, and
/// every length prefix is checked against the bytes that are there before anything is allocated
/// (MessagePackReader does so), so a hostile frame costs no more than its size.
/// </summary>
internal static class MessagePackJson
{
    /// <summary>The deepest value read: data's 64 levels (section 6.1) and the frame's own around them.</summary>
    public const int MaxDepth = 72;

    private static readonly JsonReaderOptions s_readerOptions = new() { MaxDepth = MaxDepth + 1 };

    /// <summary>The MessagePack value at the reader as a standalone JSON element.</summary>
    public static JsonElement ReadValue(ref MessagePackReader reader)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, ClientFrames.WriterOptions))
        {
            Transcode(ref reader, writer, 0);
        }
        var json = new Utf8JsonReader(buffer.WrittenSpan, s_readerOptions);
        return JsonElement.ParseValue(ref json);
    }

    /// <summary>Writes a JSON value as its MessagePack value.</summary>
    public static void WriteValue(ref MessagePackWriter writer, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                var count = 0;
                foreach (var _ in value.EnumerateObject())
                {
                    count++;
                }
                writer.WriteMapHeader(count);
                foreach (var property in value.EnumerateObject())
                {
                    writer.Write(property.Name);
                    WriteValue(ref writer, property.Value);
                }
                break;
            case JsonValueKind.Array:
                writer.WriteArrayHeader(value.GetArrayLength());
                foreach (var item in value.EnumerateArray())
                {
                    WriteValue(ref writer, item);
                }
                break;
            case JsonValueKind.String:
                writer.Write(value.GetString());
                break;
            case JsonValueKind.Number when value.TryGetInt64(out var signed):
                writer.Write(signed);
                break;
            case JsonValueKind.Number when value.TryGetUInt64(out var unsigned):
                writer.Write(unsigned);
                break;
            case JsonValueKind.Number:
                writer.Write(value.GetDouble());
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

    /// <summary>Moves past one value, at most <see cref="MaxDepth"/> deep; false when it does not decode (truncated, too deep, a bad length).</summary>
    public static bool TrySkip(ref MessagePackReader reader)
    {
        try
        {
            Skip(ref reader, 0);
            return true;
        }
        catch (Exception e) when (e is MessagePackSerializationException or EndOfStreamException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Moves past one value, at most <see cref="MaxDepth"/> deep (MessagePackReader.Skip has no bound of its own).</summary>
    public static void Skip(ref MessagePackReader reader, int depth)
    {
        switch (reader.NextMessagePackType)
        {
            case MessagePackType.Array:
                CheckDepth(depth);
                for (var i = reader.ReadArrayHeader(); i > 0; i--)
                {
                    Skip(ref reader, depth + 1);
                }
                break;
            case MessagePackType.Map:
                CheckDepth(depth);
                for (var i = reader.ReadMapHeader(); i > 0; i--)
                {
                    Skip(ref reader, depth + 1);
                    Skip(ref reader, depth + 1);
                }
                break;
            default:
                reader.Skip();
                break;
        }
    }

    private static void Transcode(ref MessagePackReader reader, Utf8JsonWriter writer, int depth)
    {
        switch (reader.NextMessagePackType)
        {
            case MessagePackType.Nil:
                reader.ReadNil();
                writer.WriteNullValue();
                break;
            case MessagePackType.Boolean:
                writer.WriteBooleanValue(reader.ReadBoolean());
                break;
            case MessagePackType.Integer when reader.NextCode == MessagePackCode.UInt64:
                writer.WriteNumberValue(reader.ReadUInt64());
                break;
            case MessagePackType.Integer:
                writer.WriteNumberValue(reader.ReadInt64());
                break;
            case MessagePackType.Float:
                var number = reader.ReadDouble();
                if (!double.IsFinite(number))
                {
                    throw new MessagePackSerializationException($"{number} is not a JSON number.");
                }
                writer.WriteNumberValue(number);
                break;
            case MessagePackType.String:
                writer.WriteStringValue(Utf8(ref reader));
                break;
            case MessagePackType.Binary:
                writer.WriteBase64StringValue(reader.ReadBytes()!.Value.ToArray());
                break;
            case MessagePackType.Array:
                CheckDepth(depth);
                writer.WriteStartArray();
                for (var i = reader.ReadArrayHeader(); i > 0; i--)
                {
                    Transcode(ref reader, writer, depth + 1);
                }
                writer.WriteEndArray();
                break;
            case MessagePackType.Map:
                CheckDepth(depth);
                writer.WriteStartObject();
                for (var i = reader.ReadMapHeader(); i > 0; i--)
                {
                    if (reader.NextMessagePackType != MessagePackType.String)
                    {
                        throw new MessagePackSerializationException("A map key is not a string.");
                    }
                    writer.WritePropertyName(Utf8(ref reader));
                    Transcode(ref reader, writer, depth + 1);
                }
                writer.WriteEndObject();
                break;
            default:
                throw new MessagePackSerializationException($"A {reader.NextMessagePackType} value has no JSON equivalent.");
        }
    }

    /// <summary>A str's UTF-8 bytes (Utf8JsonWriter checks that they are UTF-8).</summary>
    private static ReadOnlySpan<byte> Utf8(ref MessagePackReader reader) =>
        reader.TryReadStringSpan(out var span) ? span : reader.ReadStringSequence()!.Value.ToArray();

    private static void CheckDepth(int depth)
    {
        if (depth >= MaxDepth)
        {
            throw new MessagePackSerializationException($"The value is nested more than {MaxDepth} deep.");
        }
    }
}
