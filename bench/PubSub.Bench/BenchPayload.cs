using System.Buffers.Text;
using System.Diagnostics;

namespace PubSub.Bench;

/// <summary>
/// The data every publication carries: a JSON string of exactly the requested size that starts
/// with a marker, the send time (<see cref="Stopwatch.GetTimestamp"/> of this process, so one
/// monotonic clock measures every latency) and a sequence number, then padding.
/// <c>"$$&lt;16 hex: timestamp&gt;&lt;12 hex: sequence&gt;xxxx…"</c>. Receivers find it by the
/// marker without parsing the frame around it, whichever protocol carries it.
/// </summary>
public static class BenchPayload
{
    /// <summary>The opening quote and the marker: no other frame of either protocol contains it.</summary>
    public static ReadOnlySpan<byte> Marker => "\"$$"u8;

    private const int TimestampDigits = 16;
    private const int SequenceDigits = 12;

    /// <summary>The smallest payload: quotes, marker and both numbers.</summary>
    public const int MinimumSize = 2 + 2 + TimestampDigits + SequenceDigits;

    /// <summary>Writes a payload of <paramref name="size"/> bytes (quotes included) into <paramref name="into"/>.</summary>
    public static void Write(Span<byte> into, int size, long timestamp, long sequence)
    {
        if (size < MinimumSize)
        {
            throw new ArgumentOutOfRangeException(nameof(size), $"A payload needs at least {MinimumSize} bytes.");
        }
        Marker.CopyTo(into);
        WriteHex(into.Slice(3, TimestampDigits), (ulong)timestamp);
        WriteHex(into.Slice(3 + TimestampDigits, SequenceDigits), (ulong)sequence);
        into[(MinimumSize - 1)..(size - 1)].Fill((byte)'x');
        into[size - 1] = (byte)'"';
    }

    /// <summary>Finds a payload in one frame and reads its timestamp and sequence.</summary>
    public static bool TryRead(ReadOnlySpan<byte> frame, out long timestamp, out long sequence)
    {
        var at = frame.IndexOf(Marker);
        if (at < 0 || frame.Length - at < MinimumSize - 1)
        {
            timestamp = sequence = 0;
            return false;
        }
        var digits = frame.Slice(at + 3, TimestampDigits + SequenceDigits);
        if (Utf8Parser.TryParse(digits[..TimestampDigits], out ulong ts, out var used1, 'X') && used1 == TimestampDigits
            && Utf8Parser.TryParse(digits[TimestampDigits..], out ulong seq, out var used2, 'X') && used2 == SequenceDigits)
        {
            timestamp = (long)ts;
            sequence = (long)seq;
            return true;
        }
        timestamp = sequence = 0;
        return false;
    }

    private static void WriteHex(Span<byte> into, ulong value)
    {
        for (var i = into.Length - 1; i >= 0; i--)
        {
            var nibble = (int)(value & 0xF);
            into[i] = (byte)(nibble < 10 ? '0' + nibble : 'a' + nibble - 10);
            value >>= 4;
        }
    }
}
