using System.IO.Pipelines;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace PubSub.Transports;

/// <summary>
/// Lets a WebSocket session leave Kestrel's HTTP/1.1 layer once its handshake request is done.
/// The request goes through the whole pipeline as any other (forwarded headers, authentication, the
/// origin rule, admission, hooks); then, instead of upgrading inside the request, which keeps the
/// HTTP connection, its request, headers and context alive under the socket for the session's
/// life, the endpoint hands the session over and the request ends. The connection middleware that
/// made this object then writes the 101 and runs the WebSocket on the connection's own pipes:
/// about 6 KB less RSS per idle connection (docs/benchmarks.md, table 5, runs U and V).
/// </summary>
/// <remarks>
/// One per connection, for as long as the HTTP layer has it; a connection feature, so a request
/// finds it among its features. Only a plain HTTP/1.1 connection, or one whose TLS was set up
/// before this middleware, can be handed over: anything else upgrades inside the request as before.
/// </remarks>
internal sealed class WebSocketHandoff
{
    private readonly IFeatureCollection _features;
    private readonly bool _decryptedBelow;
    private Func<IDuplexPipe, Task>? _session;
    private Action? _abandon;

    private WebSocketHandoff(IFeatureCollection features, bool decryptedBelow)
    {
        _features = features;
        _decryptedBelow = decryptedBelow;
    }

    /// <summary>Whether a session has been handed over: the HTTP layer's reads and writes are then cut off from the connection.</summary>
    public bool HandedOver => Volatile.Read(ref _session) is not null;

    /// <summary>The connection's handoff, when the request may use it.</summary>
    public static WebSocketHandoff? Of(HttpContext context) =>
        context.Features.Get<WebSocketHandoff>() is { HandedOver: false } handoff
        && HttpProtocol.IsHttp11(context.Request.Protocol)
        // TLS set up after this middleware would leave it holding the encrypted pipes.
        && (handoff._decryptedBelow || handoff._features.Get<ITlsConnectionFeature>() is null)
            ? handoff
            : null;

    /// <summary>
    /// Takes the session out of the request: <paramref name="session"/> runs on the connection's
    /// pipes once the HTTP layer is done with it, or, if the connection ends before,
    /// <paramref name="abandon"/> runs instead. The response is not written: the HTTP layer's is thrown
    /// away, and <paramref name="session"/> writes the 101 (<see cref="AcceptAsync"/>).
    /// </summary>
    public void HandOver(HttpContext context, Func<IDuplexPipe, Task> session, Action abandon)
    {
        // What the request's logs and metrics record, as for an upgrade inside the request; the
        // bytes of this answer go nowhere. Connection: close ends the HTTP layer's loop after it,
        // rather than reading for another request.
        context.Response.StatusCode = StatusCodes.Status101SwitchingProtocols;
        context.Response.Headers.Connection = "close";
        // Once a request ends, the HTTP layer times how fast its response drains, and would abort
        // the connection when the session's writes (which it cannot see) make that look slow. An
        // upgrade inside the request turns the same timing off.
        if (context.Features.Get<IHttpMinResponseDataRateFeature>() is { } rate)
        {
            rate.MinDataRate = null;
        }
        _abandon = abandon;
        Volatile.Write(ref _session, session);
    }

    /// <summary>Writes the handshake's answer (RFC 6455, section 4.2.2) and opens the server's side of the WebSocket.</summary>
    public static async Task<WebSocket> AcceptAsync(IDuplexPipe transport, string key, string? subprotocol)
    {
        var protocol = subprotocol is null ? "" : $"Sec-WebSocket-Protocol: {subprotocol}\r\n";
        await transport.Output.WriteAsync(Encoding.ASCII.GetBytes(
            $"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: {AcceptOf(key)}\r\n{protocol}\r\n"));
        // Liveness is the protocol's own ping/pong, as on the upgrade inside a request.
        return WebSocket.CreateFromStream(new DuplexPipeStream(transport),
            new WebSocketCreationOptions { IsServer = true, SubProtocol = subprotocol, KeepAliveInterval = TimeSpan.Zero });
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5350", Justification = "RFC 6455 names SHA-1; the hash proves a WebSocket handshake, it protects nothing.")]
    internal static string AcceptOf(string key) =>
        Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));

    /// <summary>The connection middleware (<c>ListenOptions.UsePubSubHandoff()</c>).</summary>
    internal static async Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        // Everything the HTTP layer made is reachable only from RunHttpAsync's frame, gone once it returns.
        if (await RunHttpAsync(connection, next) is { } session)
        {
            await session(connection.Transport);
        }
    }

    /// <summary>
    /// Runs the HTTP layer on a view of the connection of its own: its pipes (<see cref="HttpSide"/>),
    /// and features layered over the connection's, so what the HTTP layer registers there (its
    /// heartbeat, its timeout feature) goes when the view goes and does not keep its state alive
    /// beside a session that has left it. Returns the session handed over, if one was.
    /// </summary>
    private static async Task<Func<IDuplexPipe, Task>?> RunHttpAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        var features = new FeatureCollection(connection.Features);
        var handoff = new WebSocketHandoff(features, decryptedBelow: connection.Features.Get<ITlsConnectionFeature>() is not null);
        features.Set(handoff);
        using var heartbeat = HeartbeatRelay.Over(connection.Features.Get<IConnectionHeartbeatFeature>());
        if (heartbeat is not null)
        {
            features.Set<IConnectionHeartbeatFeature>(heartbeat);
        }
        try
        {
            await next(new HttpSideConnection(connection, handoff, features));
        }
        catch
        {
            // The session will not run: what it held for its place goes back.
            handoff._abandon?.Invoke();
            throw;
        }
        return handoff._session;
    }

    /// <summary>
    /// The connection's heartbeat, passed on to what the HTTP layer registers (its timeouts) until
    /// the HTTP layer is done; the connection's own list of handlers is never emptied, so it holds
    /// this relay, not the HTTP layer.
    /// </summary>
    private sealed class HeartbeatRelay : IConnectionHeartbeatFeature, IDisposable
    {
        // Null once the HTTP layer is done: the relay stays in the connection's list for its life,
        // and from then on a tick costs a read of this field. The list is its own lock.
        private volatile List<(Action<object> Action, object State)>? _handlers = [];

        public static HeartbeatRelay? Over(IConnectionHeartbeatFeature? heartbeat)
        {
            if (heartbeat is null)
            {
                return null;
            }
            var relay = new HeartbeatRelay();
            heartbeat.OnHeartbeat(static state => ((HeartbeatRelay)state).Tick(), relay);
            return relay;
        }

        public void OnHeartbeat(Action<object> action, object state)
        {
            if (_handlers is { } handlers)
            {
                lock (handlers)
                {
                    handlers.Add((action, state));
                }
            }
        }

        private void Tick()
        {
            if (_handlers is not { } handlers)
            {
                return;
            }
            lock (handlers)
            {
                foreach (var (action, state) in handlers)
                {
                    action(state);
                }
            }
        }

        public void Dispose() => _handlers = null;
    }

    /// <summary>The connection as the HTTP layer is given it: <see cref="HttpSide"/>'s pipes and the layered features; the rest is the connection's.</summary>
    private sealed class HttpSideConnection(ConnectionContext connection, WebSocketHandoff handoff, IFeatureCollection features) : ConnectionContext
    {
        public override string ConnectionId { get => connection.ConnectionId; set => connection.ConnectionId = value; }

        public override IFeatureCollection Features => features;

        public override IDictionary<object, object?> Items { get => connection.Items; set => connection.Items = value; }

        public override IDuplexPipe Transport { get; set; } = new HttpSide(connection.Transport, handoff);

        public override CancellationToken ConnectionClosed { get => connection.ConnectionClosed; set => connection.ConnectionClosed = value; }

        public override System.Net.EndPoint? LocalEndPoint { get => connection.LocalEndPoint; set => connection.LocalEndPoint = value; }

        public override System.Net.EndPoint? RemoteEndPoint { get => connection.RemoteEndPoint; set => connection.RemoteEndPoint = value; }

        public override void Abort(ConnectionAbortedException abortReason)
        {
            // After the handoff the connection is the session's: the HTTP layer's end is not its end.
            if (!handoff.HandedOver)
            {
                connection.Abort(abortReason);
            }
        }
    }

    /// <summary>
    /// The connection as the HTTP layer sees it: itself until a session is handed over; then the
    /// input has ended and whatever it writes (its own answer to the handshake request) goes nowhere.
    /// </summary>
    private sealed class HttpSide(IDuplexPipe transport, WebSocketHandoff handoff) : IDuplexPipe
    {
        public PipeReader Input { get; } = new CutOffReader(transport.Input, handoff);

        public PipeWriter Output { get; } = new CutOffWriter(transport.Output, handoff);
    }

    private sealed class CutOffReader(PipeReader inner, WebSocketHandoff handoff) : PipeReader
    {
        private static readonly ReadResult Ended = new(default, isCanceled: false, isCompleted: true);
        private bool _innerRead;

        public override bool TryRead(out ReadResult result)
        {
            if (handoff.HandedOver)
            {
                result = Ended;
                return true;
            }
            return _innerRead = inner.TryRead(out result);
        }

        public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
        {
            if (handoff.HandedOver)
            {
                return new(Ended);
            }
            _innerRead = true;
            return inner.ReadAsync(cancellationToken);
        }

        public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
        {
            // Only a read the connection answered is the connection's to advance.
            if (_innerRead)
            {
                _innerRead = false;
                inner.AdvanceTo(consumed, examined);
            }
        }

        public override void CancelPendingRead() => inner.CancelPendingRead();

        public override void Complete(Exception? exception = null)
        {
            if (!handoff.HandedOver)
            {
                inner.Complete(exception);
            }
        }
    }

    private sealed class CutOffWriter(PipeWriter inner, WebSocketHandoff handoff) : PipeWriter
    {
        private byte[] _discard = [];

        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => handoff.HandedOver ? 0 : inner.UnflushedBytes;

        public override Memory<byte> GetMemory(int sizeHint = 0) => handoff.HandedOver ? Discard(sizeHint) : inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => handoff.HandedOver ? Discard(sizeHint) : inner.GetSpan(sizeHint);

        public override void Advance(int bytes)
        {
            if (!handoff.HandedOver)
            {
                inner.Advance(bytes);
            }
        }

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) =>
            handoff.HandedOver ? new(new FlushResult(isCanceled: false, isCompleted: false)) : inner.FlushAsync(cancellationToken);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null)
        {
            if (!handoff.HandedOver)
            {
                inner.Complete(exception);
            }
        }

        private byte[] Discard(int sizeHint) =>
            _discard.Length >= Math.Max(sizeHint, 1) ? _discard : _discard = new byte[Math.Max(sizeHint, 512)];
    }
}
