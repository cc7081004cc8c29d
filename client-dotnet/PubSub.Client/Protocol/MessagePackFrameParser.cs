using System.Buffers;
using MessagePack;

namespace PubSub.Client.Protocol;

/// <summary>
/// Reads one server frame in MessagePack (docs/protocol.md, section 6.1): a map with str keys,
/// read field by field into the same <see cref="FrameFields"/> as the JSON parser, so both
/// encodings make the same <see cref="ServerFrame"/> and refuse the same frames. <c>result</c>,
/// <c>error</c> and <c>data</c> become JSON elements, <c>binary</c> its bytes.
/// </summary>
internal static class MessagePackFrameParser
{
    public static ServerFrame Parse(ReadOnlySpan<byte> frame)
    {
        try
        {
            // MessagePackReader reads memory, not spans: one copy of the frame.
            var reader = new MessagePackReader(frame.ToArray());
            return ServerFrameParser.Build(Read(ref reader, frame), frame);
        }
        catch (Exception e) when (e is MessagePackSerializationException or EndOfStreamException or OverflowException or ArgumentException or InvalidOperationException)
        {
            throw ServerFrameParser.Bad($"The frame is not valid MessagePack ({e.Message})", frame, e);
        }
    }

    private static FrameFields Read(ref MessagePackReader reader, ReadOnlySpan<byte> frame)
    {
        if (reader.NextMessagePackType != MessagePackType.Map)
        {
            throw ServerFrameParser.Bad("A frame must be a MessagePack map", frame);
        }
        var f = new FrameFields();
        for (var count = reader.ReadMapHeader(); count > 0; count--)
        {
            if (reader.NextMessagePackType != MessagePackType.String || !reader.TryReadStringSpan(out var name))
            {
                throw ServerFrameParser.Bad("A frame's keys must be strings", frame);
            }
            switch (name)
            {
                case var _ when name.SequenceEqual("type"u8): f.Type = String(ref reader, "type", frame); break;
                case var _ when name.SequenceEqual("session"u8): f.Session = String(ref reader, "session", frame); break;
                case var _ when name.SequenceEqual("node"u8): f.Node = String(ref reader, "node", frame); break;
                case var _ when name.SequenceEqual("transport"u8): f.Transport = String(ref reader, "transport", frame); break;
                case var _ when name.SequenceEqual("channel"u8): f.Channel = String(ref reader, "channel", frame); break;
                case var _ when name.SequenceEqual("epoch"u8): f.Epoch = String(ref reader, "epoch", frame); break;
                case var _ when name.SequenceEqual("message"u8): f.Message = String(ref reader, "message", frame); break;
                case var _ when name.SequenceEqual("reason"u8): f.Reason = String(ref reader, "reason", frame); break;
                case var _ when name.SequenceEqual("user"u8): f.User = String(ref reader, "user", frame); break;
                case var _ when name.SequenceEqual("info"u8): f.Info = MessagePackJson.ReadValue(ref reader); break;
                case var _ when name.SequenceEqual("id"u8): f.Id = Integer(ref reader, "id", frame); break;
                case var _ when name.SequenceEqual("offset"u8): f.Offset = Integer(ref reader, "offset", frame); break;
                case var _ when name.SequenceEqual("ping"u8): f.Ping = Integer(ref reader, "ping", frame); break;
                case var _ when name.SequenceEqual("version"u8): f.Version = Integer(ref reader, "version", frame); break;
                case var _ when name.SequenceEqual("recovered"u8): f.Recovered = Boolean(ref reader, "recovered", frame); break;
                case var _ when name.SequenceEqual("reconnect"u8): f.Reconnect = Boolean(ref reader, "reconnect", frame); break;
                case var _ when name.SequenceEqual("code"u8):
                    // A string in error frames and replies, an integer in disconnect frames.
                    if (reader.NextMessagePackType == MessagePackType.String)
                    {
                        f.CodeText = reader.ReadString();
                    }
                    else
                    {
                        f.CodeNumber = Integer(ref reader, "code", frame);
                    }
                    break;
                case var _ when name.SequenceEqual("result"u8): f.Result = MessagePackJson.ReadValue(ref reader); break;
                case var _ when name.SequenceEqual("error"u8): f.Error = MessagePackJson.ReadValue(ref reader); break;
                case var _ when name.SequenceEqual("data"u8): f.Data = MessagePackJson.ReadValue(ref reader); break;
                case var _ when name.SequenceEqual("binary"u8):
                    if (reader.NextMessagePackType != MessagePackType.Binary)
                    {
                        throw ServerFrameParser.Bad("'binary' must be bin", frame);
                    }
                    f.HasBinary = true;
                    f.Binary = reader.ReadBytes()!.Value.ToArray();
                    break;
                default:
                    MessagePackJson.Skip(ref reader, 0);
                    break;
            }
        }
        if (!reader.End)
        {
            throw ServerFrameParser.Bad("A frame must be exactly one MessagePack value", frame);
        }
        return f;
    }

    private static string String(ref MessagePackReader reader, string field, ReadOnlySpan<byte> frame) =>
        reader.NextMessagePackType == MessagePackType.String ? reader.ReadString()! : throw ServerFrameParser.Bad($"'{field}' must be a string", frame);

    private static long Integer(ref MessagePackReader reader, string field, ReadOnlySpan<byte> frame) =>
        reader.NextMessagePackType == MessagePackType.Integer ? reader.ReadInt64() : throw ServerFrameParser.Bad($"'{field}' must be an integer", frame);

    private static bool Boolean(ref MessagePackReader reader, string field, ReadOnlySpan<byte> frame) =>
        reader.NextMessagePackType == MessagePackType.Boolean ? reader.ReadBoolean() : throw ServerFrameParser.Bad($"'{field}' must be true or false", frame);
}
