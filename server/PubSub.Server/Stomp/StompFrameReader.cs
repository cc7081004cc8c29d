using System.Text;

namespace PubSub.Stomp;

/// <summary>What <see cref="StompFrameReader.Read"/> found at the start of the rest of a message.</summary>
internal enum StompRead : byte
{
    /// <summary>Nothing but heart-beats is left.</summary>
    End,
    /// <summary>A frame.</summary>
    Frame,
    /// <summary>Bytes that are no frame: a fatal protocol error, after which nothing more is read.</summary>
    Invalid,
}

/// <summary>
/// Reads STOMP frames exactly as STOMP 1.2 ("STOMP Frames", "Augmented BNF") defines them:
/// a command line, header lines, an empty line, a body, and a NUL; every line ends with LF or
/// CR LF; EOLs between frames are heart-beats. The body is <c>content-length</c> octets when
/// that header is there (and must then be followed by the NUL), else everything up to the first
/// NUL. Header names and values are unescaped as the version says (<c>\r</c> in 1.2, <c>\n</c>,
/// <c>\c</c>, <c>\\</c>; any other escape is fatal); a repeated header keeps its first value.
/// Over WebSocket each message holds whole frames: a frame that does not end in its message is
/// refused, so a client that forgot its NUL learns it at once instead of waiting for a timeout.
/// </summary>
internal static class StompFrameReader
{
    private const byte Nul = 0;
    private const byte Lf = (byte)'\n';
    private const byte Cr = (byte)'\r';

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Reads the first frame of <paramref name="rest"/> and moves <paramref name="rest"/> past it
    /// (and past the heart-beat EOLs before it). <paramref name="version"/> decides the escaping
    /// of every frame but CONNECT and STOMP, which are never escaped.
    /// </summary>
    public static StompRead Read(ref ReadOnlyMemory<byte> rest, StompVersion version, out StompFrame? frame, out string problem)
    {
        frame = null;
        problem = "";
        var span = rest.Span;
        var at = SkipEols(span);
        if (at == span.Length)
        {
            rest = ReadOnlyMemory<byte>.Empty;
            return StompRead.End;
        }

        if (!TryReadLine(span, ref at, out var commandLine))
        {
            return Refuse(ref rest, "The frame ends before its command line does (no EOL after the command).", out problem);
        }
        if (commandLine.IsEmpty || !IsCommand(commandLine))
        {
            return Refuse(ref rest, "A frame must start with a command of upper-case letters on its own line.", out problem);
        }
        var command = Encoding.ASCII.GetString(commandLine);
        var escaped = StompVersions.Escapes(version, command);
        var v12 = version == StompVersion.V12;

        var headers = new List<KeyValuePair<string, string>>();
        while (true)
        {
            if (!TryReadLine(span, ref at, out var line))
            {
                return Refuse(ref rest, $"The {command} frame ends inside its headers (no empty line before the body).", out problem);
            }
            if (line.IsEmpty)
            {
                break;
            }
            var colon = line.IndexOf((byte)':');
            if (colon <= 0)
            {
                return Refuse(ref rest, colon == 0
                    ? $"A header of the {command} frame has an empty name."
                    : $"A header line of the {command} frame has no ':'.", out problem);
            }
            // The name ends at the first colon; a raw colon later on is part of the value, as
            // the readers of most STOMP servers take it (the grammar wants it escaped).
            if (!TryDecode(line[..colon], escaped, v12, out var name, out var nameProblem)
                || !TryDecode(line[(colon + 1)..], escaped, v12, out var value, out nameProblem))
            {
                return Refuse(ref rest, $"A header of the {command} frame {nameProblem}", out problem);
            }
            headers.Add(new(name, value));
        }

        var body = span[at..];
        int length;
        if (StompFrame.First(headers, StompHeaders.ContentLength) is { } declared)
        {
            if (!int.TryParse(declared, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out length))
            {
                return Refuse(ref rest, $"'content-length' must be a number of octets, not '{declared}'.", out problem);
            }
            if (length >= body.Length)
            {
                return Refuse(ref rest, $"'content-length' says {length} octets, but the message ends {body.Length} octets after the headers, without room for the NUL that must follow the body.", out problem);
            }
            if (body[length] != Nul)
            {
                return Refuse(ref rest, $"The octet after the {length} octets of 'content-length' is not the NUL that ends the frame: the body is longer than 'content-length' says.", out problem);
            }
        }
        else
        {
            length = body.IndexOf(Nul);
            if (length < 0)
            {
                return Refuse(ref rest, $"The {command} frame is not terminated by a NUL octet.", out problem);
            }
        }

        frame = new StompFrame(command, headers, rest.Slice(at, length));
        rest = rest[(at + length + 1)..];
        return StompRead.Frame;
    }

    private static StompRead Refuse(ref ReadOnlyMemory<byte> rest, string message, out string problem)
    {
        rest = ReadOnlyMemory<byte>.Empty;
        problem = message;
        return StompRead.Invalid;
    }

    private static int SkipEols(ReadOnlySpan<byte> span)
    {
        var at = 0;
        while (at < span.Length)
        {
            if (span[at] == Lf)
            {
                at++;
            }
            else if (span[at] == Cr && at + 1 < span.Length && span[at + 1] == Lf)
            {
                at += 2;
            }
            else
            {
                break;
            }
        }
        return at;
    }

    /// <summary>A line up to LF, without its EOL (LF or CR LF); false when no LF is left.</summary>
    private static bool TryReadLine(ReadOnlySpan<byte> span, ref int at, out ReadOnlySpan<byte> line)
    {
        var end = span[at..].IndexOf(Lf);
        if (end < 0)
        {
            line = default;
            return false;
        }
        line = span.Slice(at, end);
        if (!line.IsEmpty && line[^1] == Cr)
        {
            line = line[..^1];
        }
        at += end + 1;
        return true;
    }

    private static bool IsCommand(ReadOnlySpan<byte> line)
    {
        foreach (var b in line)
        {
            if (b is < (byte)'A' or > (byte)'Z')
            {
                return false;
            }
        }
        return true;
    }

    private static bool TryDecode(ReadOnlySpan<byte> octets, bool escaped, bool v12, out string text, out string problem)
    {
        text = "";
        problem = "";
        if (octets.Contains(Cr))
        {
            // A CR is only ever part of an EOL; inside a header it must be escaped (1.2) or is not allowed.
            problem = "holds a raw CR.";
            return false;
        }
        string raw;
        try
        {
            raw = StrictUtf8.GetString(octets);
        }
        catch (DecoderFallbackException)
        {
            problem = "is not valid UTF-8.";
            return false;
        }
        if (!escaped || !raw.Contains('\\', StringComparison.Ordinal))
        {
            text = raw;
            return true;
        }
        var builder = new StringBuilder(raw.Length);
        for (var i = 0; i < raw.Length; i++)
        {
            if (raw[i] != '\\')
            {
                builder.Append(raw[i]);
                continue;
            }
            char? unescaped = i + 1 < raw.Length ? raw[i + 1] switch
            {
                'n' => '\n',
                'c' => ':',
                '\\' => '\\',
                'r' when v12 => '\r',
                _ => null,
            } : null;
            if (unescaped is not { } c)
            {
                problem = i + 1 < raw.Length
                    ? $"uses the undefined escape '\\{raw[i + 1]}' (a fatal error in STOMP: only \\n, \\c, \\\\{(v12 ? " and \\r" : "")} exist)."
                    : "ends with a lone '\\'.";
                return false;
            }
            builder.Append(c);
            i++;
        }
        text = builder.ToString();
        return true;
    }
}
