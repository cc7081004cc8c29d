using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using PubSub.Bench.Measurement;
using PubSub.Bench.Protocols;

namespace PubSub.Bench.Clients;

/// <summary>
/// A generator connection over WebSocket. Its receive loop waits with a zero-byte read, so an idle
/// connection holds no receive buffer; when data comes it reads the whole message into a pooled
/// buffer, hands it over as one unit and returns the buffer.
/// </summary>
public sealed class WebSocketClient : BenchClient
{
    private const int InitialBuffer = 16 * 1024;

    private readonly WebSocket _socket;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private Task? _receiving;

    private WebSocketClient(WebSocket socket, WireProtocol protocol, SubscriberStats? stats)
        : base(protocol, stats)
    {
        _socket = socket;
    }

    public static async Task<WebSocketClient> ConnectAsync(
        Uri uri, WireProtocol protocol, string? subprotocol, IPAddress? source, SubscriberStats? stats, CancellationToken cancellationToken)
    {
        var socket = await WebSocketConnector.ConnectAsync(uri, source, subprotocol, cancellationToken);
        var client = new WebSocketClient(socket, protocol, stats);
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
            await _socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
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
        var send = _socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        if (send.IsCompletedSuccessfully)
        {
            return;
        }
        send.AsTask().GetAwaiter().GetResult();
    }

    private async Task ReceiveLoopAsync()
    {
        try
        {
            while (true)
            {
                var probe = await _socket.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None);
                if (probe.MessageType == WebSocketMessageType.Close)
                {
                    MarkClosed($"close {(int?)_socket.CloseStatus} {_socket.CloseStatusDescription}");
                    return;
                }
                var buffer = ArrayPool<byte>.Shared.Rent(InitialBuffer);
                try
                {
                    var length = 0;
                    ValueWebSocketReceiveResult result;
                    do
                    {
                        if (length == buffer.Length)
                        {
                            var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                            buffer.AsSpan(0, length).CopyTo(larger);
                            ArrayPool<byte>.Shared.Return(buffer);
                            buffer = larger;
                        }
                        result = await _socket.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None);
                        if (result.MessageType == WebSocketMessageType.Close)
                        {
                            MarkClosed($"close {(int?)_socket.CloseStatus} {_socket.CloseStatusDescription}");
                            return;
                        }
                        length += result.Count;
                    }
                    while (!result.EndOfMessage);
                    OnUnit(buffer.AsSpan(0, length), unitComplete: true, Stopwatch.GetTimestamp());
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            MarkClosed(e.Message);
        }
    }

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
