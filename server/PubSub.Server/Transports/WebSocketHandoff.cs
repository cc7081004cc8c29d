using System.IO.Pipelines;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace PubSub.Transports;

/// <summary>
/// Lets a WebSocket session leave Kestrel's HTTP/1.1 layer once its handshake request is done.
/// The request goes through the whole pipeline as any other (forwarded headers, authentication, the
/// origin rule, admission, hooks), and the HTTP layer writes its 101 with every header the pipeline
/// set; but the session does not run inside the request, which would keep the HTTP connection, its
/// request, headers and context alive under the socket for the session's life. The endpoint hands
/// it over and the request ends; the connection middleware that made this object then runs the
/// WebSocket on the connection's own pipes: about 6 KB less RSS per idle connection
/// (docs/benchmarks.md, table 5, runs U and V).
/// </summary>
/// <remarks>
/// One per connection, for as long as the HTTP layer has it; a connection feature, so a request
/// finds it among its features. Only a session on HTTP/1.1 whose bytes pass no connection middleware
/// after this one (TLS set up after it, a connection logger) can be handed over: anything else
/// upgrades inside the request as before.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The view of the connection disposes nothing of its own; the connection is Kestrel's to dispose.")]
internal sealed class WebSocketHandoff
{
    private HttpSideConnection _view = null!;
    private volatile bool _handedOver;
    private Func<IDuplexPipe, Task>? _confirmed;
    private Action? _abandon;
    private volatile bool _aborted;

    private WebSocketHandoff()
    {
    }

    /// <summary>Whether a session has been handed over: the HTTP layer's reads are then cut off, and it may no longer end the connection.</summary>
    public bool HandedOver => _handedOver;

    /// <summary>The connection's handoff, when the request may use it.</summary>
    public static WebSocketHandoff? Of(HttpContext context) =>
        context.Features.Get<WebSocketHandoff>() is { HandedOver: false } handoff
        && HttpProtocol.IsHttp11(context.Request.Protocol)
        && !context.Response.HasStarted
        // A connection middleware after this one that replaced the pipes (TLS, logging) would not
        // see the session's bytes: this one holds the pipes under it.
        && ReferenceEquals(handoff._view.Transport, handoff._view.HttpSide)
            ? handoff
            : null;

    /// <summary>
    /// Takes the session out of the request: the HTTP layer answers with the 101 (RFC 6455, section
    /// 4.2.2) and ends, then <paramref name="session"/> runs on the connection's pipes. If the 101 is
    /// not what went out (an <c>OnStarting</c> callback threw and the client read a 500, or the
    /// connection was lost), <paramref name="abandon"/> runs instead.
    /// </summary>
    public void HandOver(HttpContext context, string key, string? subprotocol, Func<IDuplexPipe, Task> session, Action abandon)
    {
        _abandon = abandon;
        var response = context.Response;
        // A 101 ends the HTTP layer's loop: it reads no further request from the connection.
        response.StatusCode = StatusCodes.Status101SwitchingProtocols;
        response.Headers.Connection = "Upgrade";
        response.Headers.Upgrade = "websocket";
        response.Headers.SecWebSocketAccept = WebSocketAccept.Of(key);
        if (subprotocol is not null)
        {
            response.Headers.SecWebSocketProtocol = subprotocol;
        }
        // Once a request ends, the HTTP layer times how fast its response drains, and would abort
        // the connection when the session's writes (which it cannot see) make that look slow. An
        // upgrade inside the request turns the same timing off.
        if (context.Features.Get<IHttpMinResponseDataRateFeature>() is { } rate)
        {
            rate.MinDataRate = null;
        }
        _handedOver = true;
        response.OnCompleted(() =>
        {
            // The HTTP layer aborts the connection when the 101 cannot be flushed; RequestAborted would only say so later.
            if (response.StatusCode == StatusCodes.Status101SwitchingProtocols && !_aborted)
            {
                _confirmed = session;
            }
            return Task.CompletedTask;
        });
    }

    /// <summary>The server's side of the WebSocket on the connection's pipes, once the 101 has gone.</summary>
    public static WebSocket Open(IDuplexPipe transport, string? subprotocol) =>
        // Liveness is the protocol's own ping/pong, as on the upgrade inside a request.
        WebSocket.CreateFromStream(new DuplexPipeStream(transport),
            new WebSocketCreationOptions { IsServer = true, SubProtocol = subprotocol, KeepAliveInterval = TimeSpan.Zero });

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
        var handoff = new WebSocketHandoff();
        handoff._view = new HttpSideConnection(connection, handoff, features);
        features.Set(handoff);
        using var heartbeat = HeartbeatRelay.Over(connection.Features.Get<IConnectionHeartbeatFeature>());
        if (heartbeat is not null)
        {
            features.Set<IConnectionHeartbeatFeature>(heartbeat);
        }
        try
        {
            await next(handoff._view);
        }
        catch
        {
            // The session will not run: what it held for its place goes back.
            handoff._abandon?.Invoke();
            throw;
        }
        if (handoff._confirmed is null)
        {
            handoff._abandon?.Invoke();
        }
        return handoff._confirmed;
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
    private sealed class HttpSideConnection : ConnectionContext
    {
        private readonly ConnectionContext _connection;
        private readonly WebSocketHandoff _handoff;

        public HttpSideConnection(ConnectionContext connection, WebSocketHandoff handoff, IFeatureCollection features)
        {
            _connection = connection;
            _handoff = handoff;
            Features = features;
            HttpSide = new HttpSide(connection.Transport, handoff);
            Transport = HttpSide;
        }

        /// <summary>The pipes this view was made with; a connection middleware after this one may have replaced <see cref="Transport"/>.</summary>
        public HttpSide HttpSide { get; }

        public override IDuplexPipe Transport { get; set; }

        public override IFeatureCollection Features { get; }

        public override string ConnectionId { get => _connection.ConnectionId; set => _connection.ConnectionId = value; }

        public override IDictionary<object, object?> Items { get => _connection.Items; set => _connection.Items = value; }

        public override CancellationToken ConnectionClosed { get => _connection.ConnectionClosed; set => _connection.ConnectionClosed = value; }

        public override System.Net.EndPoint? LocalEndPoint { get => _connection.LocalEndPoint; set => _connection.LocalEndPoint = value; }

        public override System.Net.EndPoint? RemoteEndPoint { get => _connection.RemoteEndPoint; set => _connection.RemoteEndPoint = value; }

        public override void Abort(ConnectionAbortedException abortReason)
        {
            // After the handoff the connection is the session's, or, if the 101 did not go out,
            // ends when the middleware returns: the HTTP layer's end is not its end.
            _handoff._aborted = true;
            if (!_handoff.HandedOver)
            {
                _connection.Abort(abortReason);
            }
        }
    }

    /// <summary>
    /// The connection's pipes as the HTTP layer sees them: the connection's own, until a session is
    /// handed over; then the input has ended (nothing after the handshake is the HTTP layer's to
    /// read), and the HTTP layer can no longer complete or cancel either pipe, which are the
    /// session's. Its answer to the handshake, the 101, still goes out.
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

        public override void CancelPendingRead()
        {
            // A cancel would latch on the session's next read (the HTTP layer cancels on shutdown).
            if (!handoff.HandedOver)
            {
                inner.CancelPendingRead();
            }
        }

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
        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

        public override void Advance(int bytes) => inner.Advance(bytes);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

        public override void CancelPendingFlush()
        {
            if (!handoff.HandedOver)
            {
                inner.CancelPendingFlush();
            }
        }

        public override void Complete(Exception? exception = null)
        {
            if (!handoff.HandedOver)
            {
                inner.Complete(exception);
            }
        }
    }
}
