using System.Buffers;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using PubSub.Client.Protocol;
using PubSub.Client.Transports;

namespace PubSub.Client.Connections;

/// <summary>
/// One server session on one transport: waits for <c>connected</c>, answers pings, watches the
/// heartbeat, turns a <c>disconnect</c> or a close code into how it ended, and runs the send loop,
/// which drains this connection's control queue (subscribes, unsubscribes, pongs) before the
/// client's shared queue of publishes and history requests, joining what waits into one batch.
/// </summary>
internal sealed partial class Connection : ITransportSink, IAsyncDisposable
{
    private const int Opening = 0;
    private const int Open = 1;
    private const int Ended = 2;

    private readonly ITransport _transport;
    private readonly IConnectionListener _listener;
    private readonly ConnectionSettings _settings;
    private readonly ILogger _logger;
    private readonly Action<Task> _track;
    private readonly Channel<OutboundRequest> _control = Channel.CreateUnbounded<OutboundRequest>(new UnboundedChannelOptions { SingleReader = true });
    private readonly TaskCompletionSource _opened = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<ConnectionClosed> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _timerGate = new();
    private ITimer? _heartbeat;
    private TimeSpan _heartbeatDeadline;
    private long _lastInbound;
    private int _state;
    private int _disposed;
    private Task? _sending;
    private ChannelReader<OutboundRequest>? _shared;
    private TaskCompletionSource _sharedChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource? _sharedSeen;

    public Connection(ITransport transport, IConnectionListener listener, ConnectionSettings settings, ILogger logger, Action<Task> track)
    {
        _transport = transport;
        _listener = listener;
        _settings = settings;
        _logger = logger;
        _track = track;
        _lastInbound = settings.Time.GetTimestamp();
        _opened.Task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    public PubSubTransport Kind => _transport.Kind;

    /// <summary>
    /// An upgrade probe's connection, until it takes over (set from its creation, because frames
    /// arrive before the probe's opener sees it): the server's own subscriptions on it are not
    /// adopted, since the subscriptions it will carry are moved to it one by one.
    /// </summary>
    public bool IsProbe
    {
        get => Volatile.Read(ref _isProbe);
        set => Volatile.Write(ref _isProbe, value);
    }

    private bool _isProbe;

    /// <summary>The encoding of this connection's session, both ways.</summary>
    public FrameCodec Codec => _transport.Codec;

    /// <summary>The <c>connected</c> frame, once it came.</summary>
    public ServerFrame? Info { get; private set; }

    public string? SessionId => Info?.Session;

    /// <summary>Completes once, when the connection ended (the server's doing, a failure, or <see cref="CloseAsync"/>).</summary>
    public Task<ConnectionClosed> Closed => _closed.Task;

    public bool IsEnded => Volatile.Read(ref _state) == Ended;

    /// <summary>Opens the transport and waits for <c>connected</c>, at most <paramref name="timeout"/>.</summary>
    public async Task OpenAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(timeout, _settings.Time);
        // Not linked to _stop: an end right after 'connected' (in the same batch) must not turn a
        // completed open into a cancelled one; the end is handled after adoption, like any other.
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            await _transport.StartAsync(this, linked.Token);
            if (_transport.Receiving is { } receiving)
            {
                _track(receiving);
            }
            await _opened.Task.WaitAsync(linked.Token);
        }
        catch (OperationCanceledException e) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            var error = new PubSubException(PubSubErrorCodes.Timeout,
                $"The {TransportNames.Of(Kind)} transport did not deliver 'connected' within {timeout.TotalSeconds:0.###} s.", e);
            End(error, reconnect: true);
            throw error;
        }
        catch (Exception e) when (e is not OperationCanceledException && e is not PubSubException)
        {
            var error = new PubSubException(PubSubErrorCodes.TransportFailed, $"The {TransportNames.Of(Kind)} transport failed: {e.Message}", e);
            End(error, reconnect: true);
            throw error;
        }
        catch (Exception e)
        {
            End(e, reconnect: true);
            throw;
        }
    }

    /// <summary>
    /// Starts sending: this connection's control queue first, then <paramref name="shared"/>
    /// (null: only the control queue, as an upgrade probe does until it takes over).
    /// </summary>
    public void Start(ChannelReader<OutboundRequest>? shared)
    {
        _shared = shared;
        _sending = SendLoopAsync();
        _track(_sending);
    }

    /// <summary>
    /// Switches the shared queue this connection sends from (null: none), as an upgrade hands it
    /// from the old connection to the new. Completes once the send loop has seen the switch (a
    /// batch it took from the old queue has gone out by then), or the connection has ended.
    /// </summary>
    public Task UseShared(ChannelReader<OutboundRequest>? shared)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // The queue first, then the signal: a loop that takes the signal reads the new queue after it.
        Volatile.Write(ref _shared, shared);
        Volatile.Write(ref _sharedSeen, seen);
        Interlocked.Exchange(ref _sharedChanged, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        return Task.WhenAny(seen.Task, Closed);
    }

    /// <summary>Queues a frame for this connection only; false when it has ended.</summary>
    public bool EnqueueControl(OutboundRequest request) => _control.Writer.TryWrite(request);

    /// <summary>Ends the connection because it failed or the server ended it.</summary>
    public void Fail(Exception error, bool reconnect) => End(error, reconnect);

    /// <summary>Ends the connection from the client's side, cleanly where the transport can.</summary>
    public async Task CloseAsync(TimeSpan timeout)
    {
        End(new PubSubException(PubSubErrorCodes.Closed, "The client closed the connection."), reconnect: false);
        if (_sending is not null)
        {
            await _sending;
        }
        await _transport.CloseAsync(timeout);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            // Whoever ends a connection disposes it (the run, a retiring upgrade); the transport goes once.
            return;
        }
        End(new PubSubException(PubSubErrorCodes.Closed, "The connection was disposed."), reconnect: false);
        if (_sending is not null)
        {
            await _sending;
        }
        await _transport.DisposeAsync();
        _stop.Dispose();
    }

    void ITransportSink.OnFrame(ReadOnlySpan<byte> json)
    {
        MarkInbound();
        var state = Volatile.Read(ref _state);
        if (state == Ended)
        {
            return;
        }

        ServerFrame frame;
        try
        {
            frame = _transport.Codec.Parse(json);
        }
        catch (PubSubException e)
        {
            Log.BadFrame(_logger, e.Message);
            if (state == Open)
            {
                _listener.OnBadFrame(this, e);
            }
            // What the frame said is lost; the session's state may be too. A new session recovers
            // every subscription from its last good position, so nothing is lost by starting over.
            End(e, reconnect: true);
            return;
        }

        if (state == Opening)
        {
            OnFirstFrame(frame);
            return;
        }
        switch (frame.Type)
        {
            case ServerFrameType.Disconnect:
                End(new PubSubDisconnectedException(frame.DisconnectCode, frame.Reason!, frame.Reconnect), frame.Reconnect);
                break;
            case ServerFrameType.Ping:
                EnqueueControl(new OutboundRequest(0, "pong", static (codec, _) => codec.Pong, Codec) { Target = this });
                break;
            case ServerFrameType.Connected:
                Fail(ServerFrameParser.Bad("A second 'connected' frame on one session", json), reconnect: true);
                break;
            default:
                _listener.OnFrame(this, frame);
                break;
        }
    }

    void ITransportSink.OnActivity() => MarkInbound();

    void ITransportSink.OnClosed(TransportClosed closed)
    {
        // A PubSub code (4000–4999) says whether to reconnect; RFC 6455 codes (1000, 1001, 1006
        // abnormal, 1011 server error, ...) are network or server trouble.
        if (closed.CloseCode is >= 4000 and <= 4999 and var code)
        {
            var reconnect = ErrorRules.Reconnects(code);
            End(new PubSubDisconnectedException(code, closed.CloseReason ?? "", reconnect), reconnect);
            return;
        }
        End(closed.Error, reconnect: true);
    }

    private void OnFirstFrame(ServerFrame frame)
    {
        switch (frame.Type)
        {
            case ServerFrameType.Connected:
                Info = frame;
                _transport.OnConnected(frame.Session!);
                if (Interlocked.CompareExchange(ref _state, Open, Opening) != Opening)
                {
                    return;
                }
                StartHeartbeat(frame.Ping);
                _opened.TrySetResult();
                break;
            case ServerFrameType.Disconnect:
                End(new PubSubDisconnectedException(frame.DisconnectCode, frame.Reason!, frame.Reconnect), frame.Reconnect);
                break;
            default:
                End(new PubSubException(PubSubErrorCodes.BadFrame, $"The first frame was '{frame.TypeName}', not 'connected'."), reconnect: true);
                break;
        }
    }

    private void End(Exception error, bool reconnect)
    {
        var previous = Interlocked.Exchange(ref _state, Ended);
        if (previous == Ended)
        {
            return;
        }
        lock (_timerGate)
        {
            _heartbeat?.Dispose();
            _heartbeat = null;
        }
        _control.Writer.TryComplete();
        _opened.TrySetException(error);
        _closed.TrySetResult(new ConnectionClosed(error, reconnect));
        _stop.Cancel();
        Log.Ended(_logger, TransportNames.Of(Kind), Info?.Session ?? "-", reconnect, error.Message);
    }

    private void MarkInbound() => Volatile.Write(ref _lastInbound, _settings.Time.GetTimestamp());

    /// <summary>
    /// The server pings a WebSocket every <paramref name="pingSeconds"/> and writes a comment on an
    /// idle event stream as often; silence beyond that plus the margin is a dead connection that
    /// TCP has not noticed (protocol section 2.6). A poll is bounded by its own timeout instead.
    /// </summary>
    private void StartHeartbeat(int pingSeconds)
    {
        if (pingSeconds <= 0 || Kind == PubSubTransport.LongPolling)
        {
            return;
        }
        _heartbeatDeadline = TimeSpan.FromSeconds(pingSeconds) + _settings.HeartbeatMargin;
        lock (_timerGate)
        {
            if (Volatile.Read(ref _state) == Ended)
            {
                return;
            }
            _heartbeat = _settings.Time.CreateTimer(static s => ((Connection)s!).CheckHeartbeat(), this, _heartbeatDeadline, Timeout.InfiniteTimeSpan);
        }
    }

    private void CheckHeartbeat()
    {
        var silence = _settings.Time.GetElapsedTime(Volatile.Read(ref _lastInbound));
        if (silence >= _heartbeatDeadline)
        {
            End(new PubSubException(PubSubErrorCodes.Timeout,
                $"No frame from the server for {silence.TotalSeconds:0.#} s; it promised a heartbeat every {(_heartbeatDeadline - _settings.HeartbeatMargin).TotalSeconds:0.#} s."), reconnect: true);
            return;
        }
        lock (_timerGate)
        {
            _heartbeat?.Change(_heartbeatDeadline - silence, Timeout.InfiniteTimeSpan);
        }
    }

    private async Task SendLoopAsync()
    {
        await Task.Yield();
        var batch = new ArrayBufferWriter<byte>(4096);
        var requests = new List<OutboundRequest>();
        var token = _stop.Token;
        // Waits that did not finish are kept for the next round rather than started again, so an
        // idle queue does not collect one abandoned waiter per wake-up of the other.
        Task<bool>? controlWait = null;
        Task<bool>? sharedWait = null;
        ChannelReader<OutboundRequest>? waitingOn = null;
        try
        {
            while (!token.IsCancellationRequested)
            {
                // The change signal first: a switch after it is seen on the next round.
                var sharedChanged = Volatile.Read(ref _sharedChanged).Task;
                var seen = Interlocked.Exchange(ref _sharedSeen, null);
                var shared = Volatile.Read(ref _shared);
                seen?.TrySetResult();
                batch.ResetWrittenCount();
                requests.Clear();
                Fill(_control.Reader, batch, requests);
                if (shared is not null)
                {
                    Fill(shared, batch, requests);
                }
                if (requests.Count == 0)
                {
                    if (waitingOn != shared)
                    {
                        _ = sharedWait?.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
                        sharedWait = null;
                        waitingOn = shared;
                    }
                    controlWait ??= _control.Reader.WaitToReadAsync(token).AsTask();
                    sharedWait ??= shared?.WaitToReadAsync(token).AsTask();
                    await Task.WhenAny(controlWait, sharedWait ?? sharedChanged, sharedChanged);
                    if (controlWait.IsCompleted)
                    {
                        if (!await controlWait)
                        {
                            return;
                        }
                        controlWait = null;
                    }
                    if (sharedWait is { IsCompleted: true })
                    {
                        if (!await sharedWait)
                        {
                            return;
                        }
                        sharedWait = null;
                    }
                    continue;
                }
                var refused = await _transport.SendAsync(batch.WrittenMemory, token);
                if (refused is not null)
                {
                    _listener.OnBatchRefused([.. requests.Where(r => r.Id != 0)], refused);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (ChannelClosedException)
        {
        }
        catch (Exception e)
        {
            var error = e as PubSubException ?? new PubSubException(PubSubErrorCodes.ConnectionLost, $"Sending on the {TransportNames.Of(Kind)} transport failed: {e.Message}", e);
            End(error, reconnect: true);
        }
        finally
        {
            // Let go of the waits still registered with the queues; the token is cancelled by now
            // or about to be, and they end with it.
            _ = controlWait?.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
            _ = sharedWait?.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
        }
    }

    /// <summary>Moves waiting frames into the batch while they fit in one message; abandoned requests are dropped.</summary>
    private void Fill(ChannelReader<OutboundRequest> reader, ArrayBufferWriter<byte> batch, List<OutboundRequest> requests)
    {
        while (reader.TryPeek(out var next))
        {
            if (next.IsAbandoned)
            {
                reader.TryRead(out _);
                continue;
            }
            var frame = next.FrameFor(Codec);
            var separator = Codec.Separator;
            var size = frame.Length + (batch.WrittenCount > 0 ? separator.Length : 0);
            if (batch.WrittenCount > 0 && batch.WrittenCount + size > _settings.MaxBatchBytes)
            {
                return;
            }
            reader.TryRead(out _);
            if (!next.TryMarkSent(this))
            {
                continue;
            }
            if (batch.WrittenCount > 0)
            {
                batch.Write(separator);
            }
            batch.Write(frame);
            requests.Add(next);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(20, LogLevel.Warning, "The server sent a frame that is not valid protocol: {Problem}")]
        public static partial void BadFrame(ILogger logger, string problem);

        [LoggerMessage(21, LogLevel.Debug, "The {Transport} connection of session {SessionId} ended (reconnect: {Reconnect}): {Reason}")]
        public static partial void Ended(ILogger logger, string transport, string sessionId, bool reconnect, string reason);
    }
}
