using System.Buffers;
using System.Globalization;
using System.Text;
using PubSub.Sessions;

namespace PubSub.Transports;

/// <summary>
/// The SSE resume cursor (docs/protocol.md, section 3.3): every subscription of a session with its
/// position, as <c>{epoch}:{offset}:{channel}</c> entries joined by <c>,</c>, or <c>-</c> when there
/// are none. It is the <c>id:</c> of each event, so a native EventSource that reconnects sends it
/// back as Last-Event-ID, and any node can resume every channel from history.
/// </summary>
internal sealed class ResumeCursor
{
    public const string Empty = "-";

    private const int MaxEpochLength = 64;

    private readonly Dictionary<string, StreamPosition> _positions = new(StringComparer.Ordinal);
    // The cursor as the id line carries it, rebuilt in place when a frame changes it: a stream
    // writes one per event, and a string per event was most of what SSE allocated beyond WebSocket.
    private readonly ArrayBufferWriter<byte> _id = new();

    public ResumeCursor()
    {
        Format();
    }

    /// <summary>
    /// A cursor that starts where a resumed stream left off: each channel keeps the position the
    /// client came back with until a frame settles it (its <c>subscribed</c> frame, or an
    /// <c>unsubscribed</c> one). Every event of the new stream therefore carries a cursor at least
    /// as far as the one it resumed from, so a stream that drops again at any moment, even before
    /// its subscriptions are made, still resumes without loss.
    /// </summary>
    public ResumeCursor(IEnumerable<(string Channel, StreamPosition Position)> resumedFrom)
    {
        foreach (var (channel, position) in resumedFrom)
        {
            _positions[channel] = position;
        }
        Format();
    }

    /// <summary>The cursor after every frame applied so far, in ASCII (epochs and channel names are).</summary>
    public ReadOnlySpan<byte> Id => _id.WrittenSpan;

    /// <summary>Follows a frame's effect on the positions; rebuilds the id only when it changes.</summary>
    public void Apply(in OutboundFrame frame)
    {
        switch (frame.Effect)
        {
            case CursorEffect.Advance:
                _positions[frame.Channel!] = frame.Position;
                Format();
                break;
            case CursorEffect.Remove when _positions.Remove(frame.Channel!):
                Format();
                break;
        }
    }

    private void Format()
    {
        _id.ResetWrittenCount();
        if (_positions.Count == 0)
        {
            Write(Empty);
            return;
        }
        var first = true;
        foreach (var (channel, position) in _positions)
        {
            if (!first)
            {
                Write(","u8);
            }
            first = false;
            Write(position.Epoch);
            Write(":"u8);
            // 2^53-1 has 16 digits.
            position.Offset.TryFormat(_id.GetSpan(20), out var digits, provider: CultureInfo.InvariantCulture);
            _id.Advance(digits);
            Write(":"u8);
            Write(channel);
        }
    }

    private void Write(ReadOnlySpan<byte> bytes) => _id.Write(bytes);

    private void Write(string ascii) => _id.Advance(Encoding.ASCII.GetBytes(ascii, _id.GetSpan(ascii.Length)));

    /// <summary>Reads a cursor; entries keep their order. Channel names are checked later, with the rest of the request.</summary>
    public static bool TryParse(string text, int maxEntries, out List<(string Channel, StreamPosition Position)> entries, out string error)
    {
        entries = [];
        error = "";
        if (text == Empty)
        {
            return true;
        }
        var channels = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in text.Split(','))
        {
            var first = entry.IndexOf(':', StringComparison.Ordinal);
            var second = first < 0 ? -1 : entry.IndexOf(':', first + 1);
            if (first <= 0 || second < 0 || second == entry.Length - 1
                || !long.TryParse(entry.AsSpan(first + 1, second - first - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var offset)
                || !StreamPosition.IsValidOffset(offset))
            {
                error = $"The resume cursor is not a list of 'epoch:offset:channel' entries (offsets from 0 to 2^53-1) joined by ',' (or '{Empty}').";
                return false;
            }
            // The cursor is written into every event's id line, so its epochs must not hold what
            // would break it: a line break (the lastEventId query parameter can carry one), a
            // control character, or a character beyond ASCII. The built-in brokers' epochs are
            // letters and digits (Ids.NewEpoch); a broker of one's own may use more.
            if (first > MaxEpochLength || entry.AsSpan(0, first).ContainsAnyExceptInRange('!', '~'))
            {
                error = $"The resume cursor's epochs are 1 to {MaxEpochLength} printable ASCII characters.";
                return false;
            }
            var channel = entry[(second + 1)..];
            if (!channels.Add(channel))
            {
                error = $"The resume cursor names channel '{channel}' twice.";
                return false;
            }
            entries.Add((channel, new StreamPosition(offset, entry[..first])));
        }
        if (entries.Count > maxEntries)
        {
            error = $"The resume cursor holds more than {maxEntries} channels.";
            return false;
        }
        return true;
    }
}
