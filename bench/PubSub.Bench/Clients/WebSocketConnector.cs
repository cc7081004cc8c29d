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

    /// <summary>Read buffer of a connection that receives all the time (see <c>ClientStream</c>).</summary>
    public const int BusyReadBuffer = 16 * 1024;

    /// <summary>A TCP socket bound to <paramref name="source"/> (any port) when one is given, to connect from there.</summary>
    public static Socket NewSocket(IPAddress? source)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (source is not null)
        {
            socket.SetRawSocketOption(SolIp, IpBindAddressNoPort, BitConverter.GetBytes(1));
            socket.Bind(new IPEndPoint(source, 0));
        }
        return socket;
    }

    /// <param name="deflate">Offer permessage-deflate (RFC 7692); the server may decline it.</param>
    /// <param name="readBuffer">0 for a connection that is mostly idle: it then holds no buffer.</param>
    /// <param name="wire">Counts the bytes read from the socket, when given.</param>
    public static async Task<WebSocket> ConnectAsync(
        Uri uri, IPAddress? source, string? subprotocol, bool deflate, int readBuffer, WireCounter? wire, CancellationToken cancellationToken)
    {
        var socket = NewSocket(source);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Parse(uri.Host), uri.Port), cancellationToken);
            var stream = new NetworkStream(socket, ownsSocket: true);
            var (leftover, extensions) = await UpgradeAsync(stream, uri, subprotocol, deflate, cancellationToken);
            wire?.Add(leftover.Length);
            Stream transport = leftover.Length == 0 && readBuffer == 0 && wire is null ? stream : new ClientStream(leftover, stream, readBuffer, wire);
            return WebSocket.CreateFromStream(transport, new WebSocketCreationOptions
            {
                IsServer = false,
                SubProtocol = subprotocol,
                KeepAliveInterval = TimeSpan.Zero,
                DangerousDeflateOptions = deflate ? DeflateOptions(extensions) : null,
            });
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The deflate parameters the server's answer chose (RFC 7692 section 7.1), or null when it
    /// accepted no permessage-deflate: then the connection is not compressed.
    /// </summary>
    internal static WebSocketDeflateOptions? DeflateOptions(string? extensions)
    {
        if (extensions is null)
        {
            return null;
        }
        var parameters = extensions.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parameters.Length == 0 || parameters[0] != "permessage-deflate")
        {
            return null;
        }
        var options = new WebSocketDeflateOptions();
        foreach (var parameter in parameters.Skip(1))
        {
            var (name, value) = parameter.Split('=', 2) is [var n, var v] ? (n.Trim(), v.Trim().Trim('"')) : (parameter, null);
            switch (name)
            {
                case "client_max_window_bits" when value is not null: options.ClientMaxWindowBits = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
                case "server_max_window_bits" when value is not null: options.ServerMaxWindowBits = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
                case "client_no_context_takeover": options.ClientContextTakeover = false; break;
                case "server_no_context_takeover": options.ServerContextTakeover = false; break;
            }
        }
        return options;
    }

    /// <summary>
    /// Sends the upgrade request and checks the 101 answer; returns bytes read past its end and
    /// the extensions the server accepted.
    /// </summary>
    private static async Task<(byte[] Leftover, string? Extensions)> UpgradeAsync(
        NetworkStream stream, Uri uri, string? subprotocol, bool deflate, CancellationToken cancellationToken)
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
        if (deflate)
        {
            request.Append("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n");
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
        string? Header(string name) => lines.Skip(1)
            .Select(line => line.Split(':', 2))
            .FirstOrDefault(parts => parts.Length == 2 && parts[0].Trim().Equals(name, StringComparison.OrdinalIgnoreCase))?[1].Trim();
        if (Header("Sec-WebSocket-Accept") != expected)
        {
            throw new IOException($"The WebSocket upgrade of {uri} answered a wrong Sec-WebSocket-Accept.");
        }
        return (buffer[(headerEnd + 4)..length], Header("Sec-WebSocket-Extensions"));
    }

    /// <summary>
    /// The socket's stream as the WebSocket reads it: first the bytes that came with the upgrade
    /// answer, then, with a read buffer, as much as the socket has in one read. The WebSocket reads
    /// a message's header and payload separately; without the buffer that is at least two receive
    /// calls per message, with it one per burst of messages. Writes go straight through.
    /// </summary>
    private sealed class ClientStream(byte[] prefix, Stream inner, int readBuffer, WireCounter? wire) : Stream
    {
        private byte[] _buffer = prefix;
        private int _offset;
        private int _count = prefix.Length;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_count == 0)
            {
                if (readBuffer == 0 || buffer.Length == 0 || buffer.Length >= readBuffer)
                {
                    // Zero-byte reads (wait for data, take nothing) and large reads go straight through.
                    var read = await inner.ReadAsync(buffer, cancellationToken);
                    wire?.Add(read);
                    return read;
                }
                if (_buffer.Length < readBuffer)
                {
                    _buffer = new byte[readBuffer];
                }
                _offset = 0;
                _count = await inner.ReadAsync(_buffer, cancellationToken);
                wire?.Add(_count);
                if (_count == 0)
                {
                    return 0;
                }
            }
            var taken = Math.Min(buffer.Length, _count);
            _buffer.AsSpan(_offset, taken).CopyTo(buffer.Span);
            _offset += taken;
            _count -= taken;
            return taken;
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

/// <summary>Bytes a connection read from its socket, as the subscriber's receive loop alone updates them.</summary>
public sealed class WireCounter
{
    private long _bytes;

    public long Bytes => Volatile.Read(ref _bytes);

    public void Add(int count) => Volatile.Write(ref _bytes, _bytes + count);
}
