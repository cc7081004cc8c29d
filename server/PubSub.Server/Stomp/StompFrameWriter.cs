using System.Buffers;
using System.Text;

namespace PubSub.Stomp;

/// <summary>The header names the server reads and writes.</summary>
internal static class StompHeaders
{
    public const string ContentLength = "content-length";
    public const string ContentType = "content-type";
    public const string Receipt = "receipt";
    public const string ReceiptId = "receipt-id";
    public const string Destination = "destination";
    public const string Id = "id";
    public const string Ack = "ack";
    public const string MessageId = "message-id";
    public const string Subscription = "subscription";
    public const string Message = "message";
    public const string Version = "version";
    public const string AcceptVersion = "accept-version";
    public const string HeartBeat = "heart-beat";
    public const string Session = "session";
    public const string Server = "server";
    public const string Transaction = "transaction";

    /// <summary>Where a STOMP subscriber resumes: <c>{epoch}:{offset}</c>, the last position it received.</summary>
    public const string Since = "x-since";
    public const string Epoch = "x-epoch";
    public const string Offset = "x-offset";
    public const string Recovered = "x-recovered";

    /// <summary>The protocol's error code (docs/protocol.md, section 2.7) of an ERROR frame.</summary>
    public const string Code = "x-code";

    /// <summary>The disconnect code (docs/protocol.md, section 2.8) of an ERROR that ends the session.</summary>
    public const string DisconnectCode = "x-disconnect-code";
    public const string Reconnect = "x-reconnect";
    public const string IdempotencyKey = "x-idempotency-key";
}

/// <summary>
/// Writes server frames: the command, the headers escaped as the version says (never in
/// CONNECTED), <c>content-length</c> whenever there is a body, the body and the NUL.
/// </summary>
internal static class StompFrameWriter
{
    public static byte[] Write(string command, StompVersion version, ReadOnlySpan<KeyValuePair<string, string>> headers, ReadOnlySpan<byte> body = default)
    {
        var escaped = StompVersions.Escapes(version, command);
        var output = new ArrayBufferWriter<byte>(64 + body.Length);
        Append(output, command);
        output.Write("\n"u8);
        foreach (var (name, value) in headers)
        {
            Append(output, Escape(name, escaped, version));
            output.Write(":"u8);
            Append(output, Escape(value, escaped, version));
            output.Write("\n"u8);
        }
        if (!body.IsEmpty)
        {
            Append(output, $"{StompHeaders.ContentLength}:{body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)}\n");
        }
        output.Write("\n"u8);
        output.Write(body);
        output.Write((ReadOnlySpan<byte>)[0]);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>
    /// A header name or value as <paramref name="version"/> writes it. Where a character has no
    /// escape (CR before 1.2, anything in 1.0 and in CONNECTED) it becomes a space: nothing the
    /// server writes may break a header line.
    /// </summary>
    internal static string Escape(string text, bool escaped, StompVersion version)
    {
        if (text.AsSpan().IndexOfAny("\\\r\n:") < 0)
        {
            return text;
        }
        var builder = new StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            builder.Append(c switch
            {
                '\\' when escaped => @"\\",
                '\n' when escaped => @"\n",
                ':' when escaped => @"\c",
                '\r' when escaped && version == StompVersion.V12 => @"\r",
                '\r' or '\n' => " ",
                _ => c.ToString(),
            });
        }
        return builder.ToString();
    }

    private static void Append(ArrayBufferWriter<byte> output, string text)
    {
        var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        output.Advance(Encoding.UTF8.GetBytes(text, span));
    }
}
