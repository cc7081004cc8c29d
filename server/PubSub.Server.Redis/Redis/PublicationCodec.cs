using System.Buffers.Text;
using System.Text;

namespace PubSub.Redis;

/// <summary>
/// How a publication travels on a channel's Redis pub/sub channel, written by the publish script:
/// <c>{kind}{offset}:{epoch}:{data}</c>, where kind is <c>j</c> (JSON, minified UTF-8) or
/// <c>b</c> (raw bytes), offset is decimal ASCII and the data runs to the end, so any bytes are
/// safe. Example: <c>j42:q7k2m9xa:{"text":"hi"}</c>. The channel is the pub/sub channel's name.
/// </summary>
internal static class PublicationCodec
{
    public const byte JsonKind = (byte)'j';
    public const byte BinaryKind = (byte)'b';

    /// <summary>The payload of <paramref name="kind"/> held in <paramref name="bytes"/>, without a copy.</summary>
    public static bool TryCreatePayload(byte kind, ReadOnlyMemory<byte> bytes, out Payload payload)
    {
        switch (kind)
        {
            case JsonKind when bytes.Length > 0:
                // Only this server's publish script writes here, and it stores what Payload validated.
                payload = Payload.FromTrustedJson(bytes);
                return true;
            case BinaryKind:
                payload = Payload.FromBinary(bytes);
                return true;
            default:
                payload = default;
                return false;
        }
    }

    /// <summary>
    /// Decodes a pub/sub message. <paramref name="lastEpoch"/> caches the epoch string, so that the
    /// messages of one epoch share one string instead of allocating one each.
    /// </summary>
    public static bool TryDecode(string channel, byte[] message, ref string? lastEpoch, out Publication? publication)
    {
        publication = null;
        var span = message.AsSpan();
        if (span.Length < 4)
        {
            return false;
        }
        var offsetEnd = span.IndexOf((byte)':');
        if (offsetEnd <= 1 || !Utf8Parser.TryParse(span[1..offsetEnd], out long offset, out var consumed) || consumed != offsetEnd - 1 || offset <= 0)
        {
            return false;
        }
        var epochLength = span[(offsetEnd + 1)..].IndexOf((byte)':');
        if (epochLength <= 0)
        {
            return false;
        }
        var epochBytes = span.Slice(offsetEnd + 1, epochLength);
        if (lastEpoch is null || !EqualsAscii(epochBytes, lastEpoch))
        {
            lastEpoch = Encoding.ASCII.GetString(epochBytes);
        }
        if (!TryCreatePayload(span[0], message.AsMemory(offsetEnd + 1 + epochLength + 1), out var payload))
        {
            return false;
        }
        publication = new Publication(channel, offset, lastEpoch, payload);
        return true;
    }

    private static bool EqualsAscii(ReadOnlySpan<byte> bytes, string text)
    {
        if (bytes.Length != text.Length)
        {
            return false;
        }
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] != text[i])
            {
                return false;
            }
        }
        return true;
    }
}
