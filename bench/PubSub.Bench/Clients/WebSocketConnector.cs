using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;

namespace PubSub.Bench.Clients;

/// <summary>
/// Opens client WebSockets over plain sockets: the socket can be bound to any 127.x.y.z source
/// address (each gives another ~28k ephemeral ports, so one generator can open more connections
/// than one source address allows), and a connection costs a socket, a stream and the framing
/// state, with no HTTP client stack behind it. The upgrade is the RFC 6455 handshake.
/// </summary>
public static class WebSocketConnector
{
    // Linux: bind() picks no port; connect() picks one unique for the whole 4-tuple, so a source
    // address is not limited to one use of each port. (IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT)
    private const int SolIp = 0;
    private const int IpBindAddressNoPort = 24;

    private const string AcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    public static async Task<WebSocket> ConnectAsync(Uri uri, IPAddress? source, string? subprotocol, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (source is not null)
            {
                socket.SetRawSocketOption(SolIp, IpBindAddressNoPort, BitConverter.GetBytes(1));
                socket.Bind(new IPEndPoint(source, 0));
            }
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Parse(uri.Host), uri.Port), cancellationToken);
            var stream = new NetworkStream(socket, ownsSocket: true);
            var leftover = await UpgradeAsync(stream, uri, subprotocol, cancellationToken);
            Stream transport = leftover.Length == 0 ? stream : new PrefixedStream(leftover, stream);
            return WebSocket.CreateFromStream(transport, new WebSocketCreationOptions
            {
                IsServer = false,
                SubProtocol = subprotocol,
                KeepAliveInterval = TimeSpan.Zero,
            });
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends the upgrade request and checks the 101 answer; returns bytes read past its end.</summary>
    private static async Task<byte[]> UpgradeAsync(NetworkStream stream, Uri uri, string? subprotocol, CancellationToken cancellationToken)
    {
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        var request = new StringBuilder()
            .Append("GET ").Append(uri.PathAndQuery).Append(" HTTP/1.1\r\n")
            .Append("Host: ").Append(uri.Authority).Append("\r\n")
            .Append("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n")
            .Append("Sec-WebSocket-Key: ").Append(key).Append("\r\n");
        if (subprotocol is not null)
        {
            request.Append("Sec-WebSocket-Protocol: ").Append(subprotocol).Append("\r\n");
        }
        request.Append("\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request.ToString()), cancellationToken);

        var buffer = new byte[1024];
        var length = 0;
        int headerEnd;
        while ((headerEnd = buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8)) < 0)
        {
            if (length == buffer.Length)
            {
                Array.Resize(ref buffer, buffer.Length * 2);
            }
            var read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken);
            if (read == 0)
            {
                throw new IOException($"The server closed the connection during the WebSocket upgrade of {uri}.");
            }
            length += read;
        }

        var head = Encoding.ASCII.GetString(buffer, 0, headerEnd);
        var lines = head.Split("\r\n");
        if (!lines[0].StartsWith("HTTP/1.1 101", StringComparison.Ordinal))
        {
            throw new IOException($"The WebSocket upgrade of {uri} was refused: {lines[0]}");
        }
        // RFC 6455 fixes SHA-1 for the accept key; it proves nothing secret.
#pragma warning disable CA5350
        var expected = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + AcceptGuid)));
#pragma warning restore CA5350
        var accept = lines.Skip(1)
            .Select(line => line.Split(':', 2))
            .FirstOrDefault(parts => parts.Length == 2 && parts[0].Trim().Equals("Sec-WebSocket-Accept", StringComparison.OrdinalIgnoreCase));
        if (accept is null || accept[1].Trim() != expected)
        {
            throw new IOException($"The WebSocket upgrade of {uri} answered a wrong Sec-WebSocket-Accept.");
        }
        return buffer[(headerEnd + 4)..length];
    }

    /// <summary>A stream that first returns bytes already read (frames that came with the upgrade answer).</summary>
    private sealed class PrefixedStream(byte[] prefix, Stream inner) : Stream
    {
        private int _offset;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_offset < prefix.Length)
            {
                var count = Math.Min(buffer.Length, prefix.Length - _offset);
                prefix.AsSpan(_offset, count).CopyTo(buffer.Span);
                _offset += count;
                return ValueTask.FromResult(count);
            }
            return inner.ReadAsync(buffer, cancellationToken);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            inner.WriteAsync(buffer, cancellationToken);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            inner.WriteAsync(buffer, offset, count, cancellationToken);

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override void Flush() => inner.Flush();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
