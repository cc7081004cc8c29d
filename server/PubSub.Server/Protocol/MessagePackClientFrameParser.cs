using System.Buffers;
using System.Text;
using MessagePack;

namespace PubSub.Protocol;

/// <summary>
/// Reads client frames (docs/protocol.md, sections 2.2 and 6) from a MessagePack batch, into the
/// same <see cref="ClientFrame"/> the JSON parser yields and with the same errors. Each value is
/// first walked without allocating anything: every length prefix is checked against the bytes
/// that are there, and nesting is bounded, iteratively (a value 100,000 deep costs no stack). A
/// value that does not decode ends the batch, as nothing after it can be found; one that decodes
/// but is no valid frame is refused on its own.
/// </summary>
internal static class MessagePackClientFrameParser
{
    /// <summary>The frame's own map, and <see cref="MessagePackData.MaxDepth"/> levels inside any of its fields.</summary>
    internal const int MaxNesting = MessagePackData.MaxDepth + 1;

    public static FrameRead Read(ref ReadOnlyMemory<byte> rest, out ClientFrame? frame, out ProtocolError error)
    {
        frame = null;
        if (rest.IsEmpty)
        {
            error = default;
            return FrameRead.End;
        }
        var length = MeasureValue(rest);
        if (length < 0)
        {
            rest = ReadOnlyMemory<byte>.Empty;
            error = new(PubSubErrorCodes.BadRequest,
                $"The message holds a value that is not valid MessagePack (truncated, a length beyond the end of the message, or nested more than {MaxNesting} deep); what follows it was not read.");
            return FrameRead.Invalid;
        }
        var value = rest[..(int)length];
        rest = rest[(int)length..];
        return TryParse(value, out frame, out error) ? FrameRead.Frame : FrameRead.Invalid;
    }

    /// <summary>The length of the complete MessagePack value at the start of <paramref name="bytes"/>, or -1 when there is none.</summary>
    internal static long MeasureValue(ReadOnlyMemory<byte> bytes)
    {
        var reader = new MessagePackReader(bytes);
        // Per open container, how many values it still holds after the one being read.
        Span<long> outer = stackalloc long[MaxNesting];
        var depth = 0;
        long left = 1;
        try
        {
            while (true)
            {
                while (left == 0)
                {
                    if (depth == 0)
                    {
                        return reader.Consumed;
                    }
                    left = outer[--depth];
                }
                left--;
                var type = reader.NextMessagePackType;
                if (type is MessagePackType.Array or MessagePackType.Map)
                {
                    if (depth == MaxNesting)
                    {
                        return -1;
                    }
                    // The headers refuse a count larger than the bytes left (each value takes one at least).
                    long count = type == MessagePackType.Array ? reader.ReadArrayHeader() : 2L * reader.ReadMapHeader();
                    outer[depth++] = left;
                    left = count;
                }
                else if (type == MessagePackType.Unknown)
                {
                    return -1;
                }
                else
                {
                    // A str, bin or ext is stepped over by its length, which must be there.
                    reader.Skip();
                }
            }
        }
        catch (Exception e) when (e is EndOfStreamException or MessagePackSerializationException or OverflowException or ArgumentOutOfRangeException)
        {
            return -1;
        }
    }

    /// <summary>Reads one complete value (see <see cref="MeasureValue"/>) as a client frame.</summary>
    internal static bool TryParse(ReadOnlyMemory<byte> value, out ClientFrame? frame, out ProtocolError error)
    {
        var fields = new ClientFrameFields();
        var reader = new MessagePackReader(value);
        if (reader.NextMessagePackType != MessagePackType.Map)
        {
            frame = null;
            error = new(PubSubErrorCodes.BadRequest, "A frame must be a MessagePack map.");
            return false;
        }
        var count = reader.ReadMapHeader();
        for (var i = 0; i < count; i++)
        {
            if (reader.NextMessagePackType != MessagePackType.String)
            {
                // No field of the protocol has such a name: an unknown field.
                reader.Skip();
                reader.Skip();
                continue;
            }
            var nameValid = MessagePackData.TryReadUtf8(ref reader, out var name);
            if (!nameValid)
            {
                reader.Skip();
            }
            else if (name.SequenceEqual("type"u8))
            {
                fields.Type = ReadString(ref reader, "type", ref fields.Problem);
            }
            else if (name.SequenceEqual("id"u8))
            {
                fields.Id = ReadInteger(ref reader, ClientFrameParser.MaxId);
                if (fields.Id is null)
                {
                    fields.Problem ??= ClientFrameParser.IdProblem;
                }
            }
            else if (name.SequenceEqual("channel"u8))
            {
                fields.Channel = ReadString(ref reader, "channel", ref fields.Problem);
            }
            else if (name.SequenceEqual("since"u8))
            {
                fields.Since = ReadPosition(ref reader, ref fields.Problem);
            }
            else if (name.SequenceEqual("data"u8))
            {
                if (fields.Data is not null)
                {
                    fields.Problem ??= ClientFrameParser.BothDataProblem;
                }
                var copy = reader;
                reader.Skip();
                fields.Data = MessagePackData.ReadAsJson(ref copy, out var problem);
                if (problem is not null)
                {
                    fields.Problem ??= problem;
                }
            }
            else if (name.SequenceEqual("binary"u8))
            {
                if (fields.Data is not null)
                {
                    fields.Problem ??= ClientFrameParser.BothDataProblem;
                }
                if (reader.NextMessagePackType == MessagePackType.Binary)
                {
                    // Copied: the message's buffer goes back to its pool.
                    fields.Data = Payload.FromBinary((reader.ReadBytes() ?? default).ToArray());
                }
                else
                {
                    fields.Problem ??= "'binary' must be a MessagePack bin (raw bytes, not base64 text).";
                    reader.Skip();
                }
            }
            else if (name.SequenceEqual("idempotencyKey"u8))
            {
                fields.IdempotencyKey = ReadString(ref reader, "idempotencyKey", ref fields.Problem);
            }
            else if (name.SequenceEqual("limit"u8))
            {
                if (ReadInteger(ref reader, ClientFrameParser.MaxHistoryLimit) is { } limit && limit >= 1)
                {
                    fields.Limit = (int)limit;
                }
                else
                {
                    fields.Problem ??= ClientFrameParser.LimitProblem;
                }
            }
            else
            {
                reader.Skip();
            }
        }
        return ClientFrameParser.Complete(fields, out frame, out error);
    }

    /// <summary>An integer from 0 to <paramref name="max"/>, in any width; null (and skipped) for anything else, a float included.</summary>
    private static long? ReadInteger(ref MessagePackReader reader, long max)
    {
        if (reader.NextMessagePackType != MessagePackType.Integer)
        {
            reader.Skip();
            return null;
        }
        if (reader.NextCode == MessagePackCode.UInt64)
        {
            var unsigned = reader.ReadUInt64();
            return unsigned <= (ulong)max ? (long)unsigned : null;
        }
        var value = reader.ReadInt64();
        return value >= 0 && value <= max ? value : null;
    }

    private static string? ReadString(ref MessagePackReader reader, string field, ref string? fieldError)
    {
        if (reader.NextMessagePackType != MessagePackType.String)
        {
            fieldError ??= $"'{field}' must be a string.";
            reader.Skip();
            return null;
        }
        if (!MessagePackData.TryReadUtf8(ref reader, out var utf8))
        {
            fieldError ??= $"'{field}' is not valid UTF-8.";
            return null;
        }
        return Encoding.UTF8.GetString(utf8);
    }

    private static StreamPosition? ReadPosition(ref MessagePackReader reader, ref string? fieldError)
    {
        if (reader.NextMessagePackType != MessagePackType.Map)
        {
            fieldError ??= ClientFrameParser.SinceProblem;
            reader.Skip();
            return null;
        }
        string? epoch = null;
        long? offset = null;
        var fields = reader.ReadMapHeader();
        for (var i = 0; i < fields; i++)
        {
            var isEpoch = false;
            var isOffset = false;
            if (reader.NextMessagePackType == MessagePackType.String && MessagePackData.TryReadUtf8(ref reader, out var name))
            {
                isEpoch = name.SequenceEqual("epoch"u8);
                isOffset = name.SequenceEqual("offset"u8);
            }
            else
            {
                reader.Skip();
            }
            if (isEpoch && reader.NextMessagePackType == MessagePackType.String)
            {
                epoch = ReadString(ref reader, "since.epoch", ref fieldError);
            }
            else if (isOffset)
            {
                offset = ReadInteger(ref reader, StreamPosition.MaxOffset);
            }
            else
            {
                reader.Skip();
            }
        }
        if (epoch is null || offset is null)
        {
            fieldError ??= ClientFrameParser.SinceProblem;
            return null;
        }
        return new StreamPosition(offset.Value, epoch);
    }
}
