using System.Buffers.Binary;

namespace PubSub.Bench.Protocols;

/// <summary>
/// Where one MessagePack value ends, read from its headers alone. The receive path has spans,
/// which MessagePack-CSharp's reader does not take, and it only needs lengths: decoding is left
/// to <see cref="MessagePack.MessagePackSerializer.ConvertToJson(ReadOnlyMemory{byte}, MessagePack.MessagePackSerializerOptions?, CancellationToken)"/>
/// for the few frames that are not deliveries.
/// </summary>
public static class MessagePackFraming
{
    /// <summary>The length of the value that starts <paramref name="data"/>, or -1 when it is not all there.</summary>
    public static int ValueLength(ReadOnlySpan<byte> data)
    {
        var at = 0;
        // Values still to read: a container adds its elements to this count.
        long pending = 1;
        while (pending > 0)
        {
            if (at >= data.Length)
            {
                return -1;
            }
            pending--;
            var code = data[at];
            var (header, payload, elements) = Describe(code, data[(at + 1)..]);
            if (header < 0)
            {
                return -1;
            }
            var next = at + 1L + header + payload;
            if (next > data.Length)
            {
                return -1;
            }
            at = (int)next;
            pending += elements;
        }
        return at;
    }

    /// <summary>
    /// For the format byte <paramref name="code"/>: the bytes of its header after the byte, of its
    /// payload, and how many values follow as its elements. -1 header when the header is cut off.
    /// </summary>
    private static (int Header, long Payload, long Elements) Describe(byte code, ReadOnlySpan<byte> rest)
    {
        switch (code)
        {
            case <= 0x7f or >= 0xe0 or 0xc0 or 0xc2 or 0xc3: return (0, 0, 0);
            case >= 0x80 and <= 0x8f: return (0, 0, 2 * (code & 0x0f));
            case >= 0x90 and <= 0x9f: return (0, 0, code & 0x0f);
            case >= 0xa0 and <= 0xbf: return (0, code & 0x1f, 0);
            case 0xcc or 0xd0: return (0, 1, 0);
            case 0xcd or 0xd1: return (0, 2, 0);
            case 0xca or 0xce or 0xd2: return (0, 4, 0);
            case 0xcb or 0xcf or 0xd3: return (0, 8, 0);
            case 0xd4: return (0, 2, 0);
            case 0xd5: return (0, 3, 0);
            case 0xd6: return (0, 5, 0);
            case 0xd7: return (0, 9, 0);
            case 0xd8: return (0, 17, 0);
            case 0xc4 or 0xd9: return rest.Length < 1 ? (-1, 0, 0) : (1, rest[0], 0);
            case 0xc5 or 0xda: return rest.Length < 2 ? (-1, 0, 0) : (2, BinaryPrimitives.ReadUInt16BigEndian(rest), 0);
            case 0xc6 or 0xdb: return rest.Length < 4 ? (-1, 0, 0) : (4, BinaryPrimitives.ReadUInt32BigEndian(rest), 0);
            case 0xc7: return rest.Length < 1 ? (-1, 0, 0) : (1, rest[0] + 1L, 0);
            case 0xc8: return rest.Length < 2 ? (-1, 0, 0) : (2, BinaryPrimitives.ReadUInt16BigEndian(rest) + 1L, 0);
            case 0xc9: return rest.Length < 4 ? (-1, 0, 0) : (4, BinaryPrimitives.ReadUInt32BigEndian(rest) + 1L, 0);
            case 0xdc: return rest.Length < 2 ? (-1, 0, 0) : (2, 0, BinaryPrimitives.ReadUInt16BigEndian(rest));
            case 0xdd: return rest.Length < 4 ? (-1, 0, 0) : (4, 0, BinaryPrimitives.ReadUInt32BigEndian(rest));
            case 0xde: return rest.Length < 2 ? (-1, 0, 0) : (2, 0, 2L * BinaryPrimitives.ReadUInt16BigEndian(rest));
            case 0xdf: return rest.Length < 4 ? (-1, 0, 0) : (4, 0, 2L * BinaryPrimitives.ReadUInt32BigEndian(rest));
            default: throw new InvalidDataException($"0x{code:x2} is not a MessagePack format byte.");
        }
    }
}
