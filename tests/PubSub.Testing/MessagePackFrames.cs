using System.Text.Json;
using MessagePack;

namespace PubSub.Testing;

/// <summary>
/// The test clients' side of the MessagePack encoding (docs/protocol.md, section 6), written apart
/// from the server's codec on MessagePack-CSharp's own JSON conversion: frames the tests write as
/// JSON objects go out as MessagePack maps (a top-level <c>binary</c> as bin), and what the server
/// sends comes back as the JSON frames the tests already read (a bin as base64, as JSON carries it).
/// </summary>
public static class MessagePackFrames
{
    public const string Subprotocol = "pubsub.msgpack";

    public const string ContentType = "application/vnd.msgpack";

    /// <summary>Every value of a MessagePack batch, as JSON.</summary>
    public static List<JsonElement> Decode(ReadOnlyMemory<byte> batch)
    {
        var frames = new List<JsonElement>();
        var reader = new MessagePackReader(batch);
        while (!reader.End)
        {
            var value = reader.ReadRaw();
            frames.Add(JsonSerializer.Deserialize<JsonElement>(MessagePackSerializer.ConvertToJson(value)));
        }
        return frames;
    }

    /// <summary>A frame (an object the tests would serialize to JSON) as one MessagePack map.</summary>
    public static byte[] Encode(object frame)
    {
        var json = frame as JsonElement? ?? JsonSerializer.SerializeToElement(frame);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.WriteMapHeader(json.EnumerateObject().Count());
        foreach (var field in json.EnumerateObject())
        {
            writer.Write(field.Name);
            if (field.Name == "binary" && field.Value.ValueKind == JsonValueKind.String)
            {
                writer.Write(field.Value.GetBytesFromBase64());
            }
            else
            {
                writer.WriteRaw(MessagePackSerializer.ConvertFromJson(field.Value.GetRawText()));
            }
        }
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }
}
