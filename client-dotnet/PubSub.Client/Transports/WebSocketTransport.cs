using System.Buffers;
using System.Net.WebSockets;
using Microsoft.Extensions.Logging;
using PubSub.Client.Protocol;

namespace PubSub.Client.Transports;

/// <summary>
/// <c>GET {prefix}/ws</c> (docs/protocol.md, sections 3.2 and 6.3): with subprotocol
/// <c>pubsub.json</c> each text message is one batch, in both directions; with
/// <c>pubsub.msgpack</c> each binary message is.
/// </summary>
internal sealed partial class WebSocketTransport(TransportContext context) : ITransport
{
    public const string Subprotocol = "pubsub.json";

    public const string MessagePackSubprotocol = "pubsub.msgpack";

    private const int InitialReceiveBuffer = 16 * 1024;

    private readonly ClientWebSocket _socket = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly ILogger _logger = context.LoggerFactory.CreateLogger<WebSocketTransport>();
    private Task? _receiving;

    public PubSubTransport Kind => PubSubTransport.WebSocket;

    public FrameCodec Codec => context.Codec;

    private string OwnSubprotocol => Codec.Encoding == PubSubEncoding.MessagePack ? MessagePackSubprotocol : Subprotocol;

    private WebSocketMessageType MessageType => Codec.Encoding == PubSubEncoding.MessagePack ? WebSocketMessageType.Binary : WebSocketMessageType.Text;

    /// <summary>The receive loop, for the client's count of background work.</summary>
    public Task? Receiving => _receiving;

    public async Task StartAsync(ITransportSink sink, CancellationToken cancellationToken)
    {
        var uri = WebSocketUri(context.Endpoint("ws"));
        _socket.Options.AddSubProtocol(OwnSubprotocol);
        // Liveness is the protocol's own ping/pong (section 2.6); WebSocket pings would double it.
        _socket.Options.KeepAliveInterval = TimeSpan.Zero;
        foreach (var (name, value) in context.Headers)
        {
            _socket.Options.SetRequestHeader(name, value);
        }
        if (context.AccessToken is not null)
        {
            _socket.Options.SetRequestHeader("Authorization", "Bearer " + context.AccessToken);
        }
        if (context.WebSocketCompression)
        {
            // The client sends little (publishes, requests); keeping its compressor between
            // messages would also make the server keep an inflater per connection.
            _socket.Options.DangerousDeflateOptions = new WebSocketDeflateOptions { ClientContextTakeover = false };
        }
        context.ConfigureWebSocket?.Invoke(_socket.Options);

        if (context.Handler is not null)
        {
            using var invoker = new HttpMessageInvoker(context.Handler, disposeHandler: false);
            await _socket.ConnectAsync(uri, invoker, cancellationToken);
        }
        else
        {
            await _socket.ConnectAsync(uri, cancellationToken);
        }
        if (_socket.SubProtocol is { } chosen && chosen != OwnSubprotocol)
        {
            throw new PubSubException(PubSubErrorCodes.TransportFailed, $"The server chose WebSocket subprotocol '{chosen}'; this client speaks '{OwnSubprotocol}'.");
        }
        _receiving = ReceiveLoopAsync(sink);
    }

    public void OnConnected(string sessionId)
    {
    }

    public async ValueTask<PubSubException?> SendAsync(ReadOnlyMemory<byte> batch, CancellationToken cancellationToken)
    {
        await _sendLock.WaitAsync(cancellationToken);
        try
        {
            await _socket.SendAsync(batch, MessageType, endOfMessage: true, cancellationToken);
            return null;
        }
        finally
        {
            _sendLock.Release();
        }
    }

    public async Task CloseAsync(TimeSpan timeout)
    {
        if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            using var deadline = new CancellationTokenSource(timeout, context.Time);
            try
            {
                await _sendLock.WaitAsync(deadline.Token);
                try
                {
                    await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "The client closed.", deadline.Token);
                }
                finally
                {
                    _sendLock.Release();
                }
                // The server answers with its close frame, which ends the receive loop.
                if (_receiving is not null)
                {
                    await _receiving.WaitAsync(deadline.Token);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or WebSocketException or ObjectDisposedException)
            {
                Log.CloseIncomplete(_logger, e.Message);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Abort();
        if (_receiving is not null)
        {
            await _receiving;
        }
        _socket.Dispose();
        _stop.Dispose();
        _sendLock.Dispose();
    }

    private async Task ReceiveLoopAsync(ITransportSink sink)
    {
        // The loop must not run on the caller's stack: StartAsync returns first.
        await Task.Yield();
        var buffer = ArrayPool<byte>.Shared.Rent(InitialReceiveBuffer);
        TransportClosed? closed = null;
        try
        {
            while (true)
            {
                var length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (length == buffer.Length)
                    {
                        if (length >= TransportContext.MaxInboundMessageBytes)
                        {
                            throw new PubSubException(PubSubErrorCodes.BadFrame, $"A WebSocket message from the server exceeded {TransportContext.MaxInboundMessageBytes} bytes.");
                        }
                        var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, TransportContext.MaxInboundMessageBytes));
                        buffer.AsSpan(0, length).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }
                    result = await _socket.ReceiveAsync(buffer.AsMemory(length), _stop.Token);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        await AnswerCloseAsync();
                        var code = (int?)_socket.CloseStatus;
                        closed = new TransportClosed(
                            new PubSubException(PubSubErrorCodes.ConnectionLost, $"The server closed the WebSocket ({code}{(string.IsNullOrEmpty(_socket.CloseStatusDescription) ? "" : ": " + _socket.CloseStatusDescription)})."),
                            code,
                            _socket.CloseStatusDescription);
                        return;
                    }
                    length += result.Count;
                }
                while (!result.EndOfMessage);

                if (result.MessageType != MessageType)
                {
                    throw new PubSubException(PubSubErrorCodes.BadFrame,
                        $"The server sent a {result.MessageType.ToString().ToLowerInvariant()} WebSocket message ({length} bytes); '{OwnSubprotocol}' carries {MessageType.ToString().ToLowerInvariant()} messages only.");
                }
                Codec.Split(buffer.AsMemory(0, length), sink, static (s, frame) =>
                {
                    s.OnFrame(frame);
                    return true;
                });
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
            closed = new TransportClosed(new PubSubException(PubSubErrorCodes.ConnectionLost, $"The WebSocket failed: {e.Message}", e));
        }
        catch (PubSubException e)
        {
            closed = new TransportClosed(e);
        }
        catch (Exception e)
        {
            // Whatever else the socket throws ends this connection, not the client.
            closed = new TransportClosed(new PubSubException(PubSubErrorCodes.TransportFailed, $"The WebSocket failed unexpectedly: {e.Message}", e));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            closed ??= new TransportClosed(new PubSubException(PubSubErrorCodes.ConnectionLost, "The WebSocket's receive loop ended unexpectedly."));
            // Once the loop ended for any reason, the socket is of no further use.
            if (closed.CloseCode is null)
            {
                _socket.Abort();
            }
            sink.OnClosed(closed);
        }
    }

    /// <summary>Completes the close handshake the server started, so its socket ends cleanly.</summary>
    private async Task AnswerCloseAsync()
    {
        if (_socket.State != WebSocketState.CloseReceived)
        {
            return;
        }
        try
        {
            await _sendLock.WaitAsync(_stop.Token);
            try
            {
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, _stop.Token);
            }
            finally
            {
                _sendLock.Release();
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            Log.CloseIncomplete(_logger, e.Message);
        }
    }

    /// <summary>http → ws, https → wss; the rest of the URI as is.</summary>
    public static Uri WebSocketUri(Uri http)
    {
        var builder = new UriBuilder(http) { Scheme = http.Scheme == Uri.UriSchemeHttps ? "wss" : "ws" };
        return builder.Uri;
    }

    private static partial class Log
    {
        [LoggerMessage(100, LogLevel.Debug, "The WebSocket close handshake did not complete: {Reason}")]
        public static partial void CloseIncomplete(ILogger logger, string reason);
    }
}
