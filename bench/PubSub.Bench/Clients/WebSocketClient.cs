using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using PubSub.Bench.Measurement;
using PubSub.Bench.Protocols;

namespace PubSub.Bench.Clients;

/// <summary>
/// A generator connection over WebSocket. Its one receive loop reads each whole message into a
/// buffer and hands it over as one unit. Connections that count deliveries own their buffer;
/// the others wait with a zero-byte read and rent one only while a message is being read, so an
/// idle connection holds no receive memory.
/// </summary>
public sealed class WebSocketClient : BenchClient
{
    private const int InitialBuffer = 16 * 1024;

    private readonly WebSocket _socket;
    private readonly WireCounter? _wire;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private Task? _receiving;

    private WebSocketClient(WebSocket socket, WireCounter? wire, WireProtocol protocol, SubscriberStats? stats)
        : base(protocol, stats)
    {
        _socket = socket;
        _wire = wire;
    }

    public override long WireBytesReceived => _wire?.Bytes ?? 0;

    public static async Task<WebSocketClient> ConnectAsync(
        Uri uri, WireProtocol protocol, string? subprotocol, bool deflate, IPAddress? source, SubscriberStats? stats, CancellationToken cancellationToken)
    {
        // Subscribers count what they read off the network: the bytes on the wire per delivery.
        var wire = stats is null ? null : new WireCounter();
        var socket = await WebSocketConnector.ConnectAsync(
            uri, source, subprotocol, deflate, stats is null ? 0 : WebSocketConnector.BusyReadBuffer, wire, cancellationToken);
        var client = new WebSocketClient(socket, wire, protocol, stats);
        client._receiving = client.ReceiveLoopAsync();
        if (protocol.Handshake is { } handshake)
        {
            await client.SendAsync(handshake, cancellationToken);
        }
        return client;
    }

    public override async ValueTask SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken)
    {
        await _sendLock.WaitAsync(cancellationToken);
        try
        {
            await _socket.SendAsync(frame, Protocol.MessageType, endOfMessage: true, cancellationToken);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>
    /// Sends from the publisher's own thread, blocking: the publisher is the only sender on its
    /// connection, so it needs no lock, and a send that cannot complete (the server stopped
    /// reading) holds the publisher back, which shows as publisher lag.
    /// </summary>
    public void SendBlocking(ReadOnlyMemory<byte> frame)
    {
        var send = _socket.SendAsync(frame, Protocol.MessageType, endOfMessage: true, CancellationToken.None);
        if (send.IsCompletedSuccessfully)
        {
            return;
        }
        send.AsTask().GetAwaiter().GetResult();
    }

    private async Task ReceiveLoopAsync()
    {
        // A subscriber keeps its buffer: it receives all the time, and a read straight into it
        // saves the zero-byte wait per message. Idle connections and the publisher hold none.
        byte[]? own = Stats is null ? null : new byte[InitialBuffer];
        try
        {
            while (true)
            {
                if (own is null)
                {
                    var probe = await _socket.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None);
                    if (probe.MessageType == WebSocketMessageType.Close)
                    {
                        MarkClosed(CloseText());
                        return;
                    }
                }
                var buffer = own ?? ArrayPool<byte>.Shared.Rent(InitialBuffer);
                try
                {
                    var length = 0;
                    ValueWebSocketReceiveResult result;
                    do
                    {
                        if (length == buffer.Length)
                        {
                            buffer = Grow(buffer, length, pooled: own is null);
                            if (own is not null)
                            {
                                own = buffer;
                            }
                        }
                        result = await _socket.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None);
                        if (result.MessageType == WebSocketMessageType.Close)
                        {
                            MarkClosed(CloseText());
                            return;
                        }
                        length += result.Count;
                    }
                    while (!result.EndOfMessage);
                    OnUnit(buffer.AsSpan(0, length), unitComplete: true, Stopwatch.GetTimestamp());
                }
                finally
                {
                    if (own is null)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                    }
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            MarkClosed(e.Message);
        }
    }

    private static byte[] Grow(byte[] buffer, int length, bool pooled)
    {
        var larger = pooled ? ArrayPool<byte>.Shared.Rent(buffer.Length * 2) : new byte[buffer.Length * 2];
        buffer.AsSpan(0, length).CopyTo(larger);
        if (pooled)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return larger;
    }

    private string CloseText() => $"close {(int?)_socket.CloseStatus} {_socket.CloseStatusDescription}";

    public override async ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        MarkClosed("closed by the generator");
        _socket.Abort();
        _socket.Dispose();
        if (_receiving is not null)
        {
            await _receiving;
        }
        _sendLock.Dispose();
    }
}
