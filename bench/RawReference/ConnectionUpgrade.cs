using System.Buffers;
using System.IO.Pipelines;
using System.Net.WebSockets;
using System.Text;
using PubSub.Transports;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace RawReference;

/// <summary>
/// Kestrel connection middleware that answers a WebSocket upgrade for <c>GET /ws</c> on the
/// connection itself (RFC 6455, section 4.2), so the socket lives on Kestrel's transport with no
/// HTTP/1.1 connection, request or context under it: the floor of a WebSocket below ASP.NET Core's
/// (docs/benchmarks.md, table 5, run U). Every other request, and a <c>/ws</c> request that is not
/// a valid upgrade, goes on to the HTTP layer with its bytes unread, so it answers as usual.
/// A measuring device, not a server: it offers no subprotocol, extension, origin check or auth.
/// </summary>
public static class ConnectionUpgrade
{
    private const int MaxHeaderBytes = 8 * 1024;
    private static readonly TimeSpan HeaderTimeout = TimeSpan.FromSeconds(10);
    private static ReadOnlySpan<byte> HeadersEnd => "\r\n\r\n"u8;

    public static void UseWebSocketUpgradeBeforeHttp(this ListenOptions listen, Func<Broadcaster> broadcaster) =>
        listen.Use(next => connection => HandleAsync(connection, next, broadcaster()));

    private static async Task HandleAsync(ConnectionContext connection, ConnectionDelegate next, Broadcaster broadcaster)
    {
        var input = connection.Transport.Input;
        ReadResult read;
        long headersLength;
        using (var timeout = new CancellationTokenSource(HeaderTimeout))
        {
            try
            {
                // Wait for the whole header block; the read stays open, so the HTTP layer can be given it unread.
                while (true)
                {
                    read = await input.ReadAsync(timeout.Token);
                    headersLength = LengthOfHeaders(read.Buffer);
                    if (headersLength > 0 || read.IsCompleted || read.Buffer.Length >= MaxHeaderBytes)
                    {
                        break;
                    }
                    input.AdvanceTo(read.Buffer.Start, read.Buffer.End);
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        var key = headersLength > 0 ? UpgradeKeyOf(read.Buffer.Slice(0, headersLength)) : null;
        if (key is null)
        {
            connection.Transport = new DuplexPipe(new PeekedInput(input, read), connection.Transport.Output);
            await next(connection);
            return;
        }

        input.AdvanceTo(read.Buffer.GetPosition(headersLength));
        await connection.Transport.Output.WriteAsync(Encoding.ASCII.GetBytes(
            $"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {WebSocketAccept.Of(key)}\r\n\r\n"));
        using var socket = WebSocket.CreateFromStream(new DuplexPipeStream(connection.Transport),
            new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = TimeSpan.Zero });
        await broadcaster.RunAsync(socket);
    }

    /// <summary>The length of the header block with its blank line, or 0 while it is incomplete.</summary>
    private static long LengthOfHeaders(ReadOnlySequence<byte> buffer)
    {
        var reader = new SequenceReader<byte>(buffer);
        return reader.TryReadTo(out ReadOnlySequence<byte> _, HeadersEnd) ? reader.Consumed : 0;
    }

    /// <summary>The client's <c>Sec-WebSocket-Key</c> when the block is a version-13 upgrade of <c>GET /ws</c>; otherwise null.</summary>
    internal static string? UpgradeKeyOf(ReadOnlySequence<byte> headers)
    {
        var lines = Encoding.ASCII.GetString(headers).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var target = lines[0].Split(' ');
        if (target is not ["GET", var path, "HTTP/1.1"] || path.Split('?')[0] != "/ws")
        {
            return null;
        }
        var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':');
            if (colon > 0)
            {
                fields[line[..colon].Trim()] = line[(colon + 1)..].Trim();
            }
        }
        var upgrade = fields.GetValueOrDefault("Upgrade", "").Equals("websocket", StringComparison.OrdinalIgnoreCase);
        var connectionUpgrade = fields.GetValueOrDefault("Connection", "").Split(',')
            .Any(t => t.Trim().Equals("Upgrade", StringComparison.OrdinalIgnoreCase));
        return upgrade && connectionUpgrade && fields.GetValueOrDefault("Sec-WebSocket-Version") == "13"
            && fields.GetValueOrDefault("Sec-WebSocket-Key") is { Length: > 0 } key ? key : null;
    }

    private sealed record DuplexPipe(PipeReader Input, PipeWriter Output) : IDuplexPipe;

    /// <summary>
    /// The input as the HTTP layer must see it after the peek: the peek's read is still open, so its
    /// first read returns the same bytes without waiting and its first AdvanceTo completes that read.
    /// </summary>
    private sealed class PeekedInput(PipeReader inner, ReadResult peeked) : PipeReader
    {
        private bool _peekOpen = true;

        public override bool TryRead(out ReadResult result)
        {
            if (_peekOpen)
            {
                result = peeked;
                return true;
            }
            return inner.TryRead(out result);
        }

        public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default) =>
            _peekOpen ? new(peeked) : inner.ReadAsync(cancellationToken);

        public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
        {
            _peekOpen = false;
            inner.AdvanceTo(consumed, examined);
        }

        public override void CancelPendingRead() => inner.CancelPendingRead();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);
    }
}
