using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PubSub.Client.Connections;
using PubSub.Client.Protocol;
using PubSub.Client.Transports;

namespace PubSub.Client;

/// <summary>
/// A PubSub client. It connects over the best transport that works (by default WebSocket, then
/// Server-Sent Events, then long-polling, each tried only if the server offers it), reconnects
/// with backoff when the connection is lost, and keeps subscriptions whole across reconnects:
/// each channel is subscribed again from the position of the last publication delivered, so the
/// application sees every publication once and in order, or is told (<see cref="PubSubSubscription.Resubscribed"/>)
/// when the server's history no longer covers the gap.
/// </summary>
/// <example>
/// <code>
/// await using var client = new PubSubClient(new Uri("https://example.com/pubsub"));
/// await client.ConnectAsync();
/// await using var subscription = await client.SubscribeAsync("chat/lobby");
/// await client.PublishAsync("chat/lobby", new { text = "hello" });
/// await foreach (var message in subscription.ReadAllAsync())
/// {
///     Console.WriteLine(message.Data);
/// }
/// </code>
/// </example>
/// <remarks>All members are safe to call from any thread, concurrently.</remarks>
public sealed partial class PubSubClient : IAsyncDisposable, IConnectionListener
{
    /// <summary>The most a derived transport timeout may be below: a loaded machine (JIT-cold client or server) needs a moment to accept a WebSocket, and a false fallback costs more than the wait.</summary>
    internal static readonly TimeSpan MinTransportTimeout = TimeSpan.FromSeconds(2);

    private const int DefaultMaxMessageSize = 65_536;

    private readonly PubSubClientOptions _options;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly HttpClient _http;
    private readonly IReadOnlyDictionary<string, string> _headers;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, PubSubSubscription> _subscriptions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<long, OutboundRequest> _pending = new();
    private readonly Channel<OutboundRequest> _shared;
    private readonly List<Task> _tasks = [];
    private PubSubClientState _state = PubSubClientState.Disconnected;
    private Connection? _current;
    private CancellationTokenSource? _run;
    private Task? _supervisor;
    private TaskCompletionSource? _connected;
    private Task? _disposing;
    private long _nextId;
    private int _maxMessageSize = DefaultMaxMessageSize;
    private int _tasksStarted;

    /// <summary>Creates a client for the endpoints under <paramref name="uri"/> (the prefix the server maps, such as <c>https://example.com/pubsub</c>).</summary>
    /// <exception cref="ArgumentException">The URI is not an absolute http(s) or ws(s) URI, or an option is invalid.</exception>
    public PubSubClient(Uri uri, PubSubClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (!uri.IsAbsoluteUri || uri.Scheme is not ("http" or "https" or "ws" or "wss"))
        {
            throw new ArgumentException($"'{uri}' must be an absolute http, https, ws or wss URI, such as https://example.com/pubsub.", nameof(uri));
        }
        // The endpoints are HTTP ones; ws(s) is accepted for the prefix and mapped back.
        Uri = uri.Scheme is "ws" or "wss"
            ? new UriBuilder(uri) { Scheme = uri.Scheme == "wss" ? Uri.UriSchemeHttps : Uri.UriSchemeHttp }.Uri
            : uri;
        _options = options ?? new PubSubClientOptions();
        _options.Validate();
        _time = _options.TimeProvider;
        _loggerFactory = _options.LoggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger<PubSubClient>();
        _headers = new Dictionary<string, string>(_options.Headers, StringComparer.OrdinalIgnoreCase);
        _http = _options.HttpMessageHandler is { } handler
            ? new HttpClient(handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan }
            : new HttpClient(new SocketsHttpHandler(), disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
        _shared = Channel.CreateBounded<OutboundRequest>(new BoundedChannelOptions(_options.SendQueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>The endpoints' prefix.</summary>
    public Uri Uri { get; }

    /// <summary>Where the client is in its life. <see cref="StateChanged"/> reports every change.</summary>
    public PubSubClientState State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    /// <summary>The transport in use; null unless <see cref="State"/> is <see cref="PubSubClientState.Connected"/>.</summary>
    public PubSubTransport? Transport
    {
        get
        {
            lock (_gate)
            {
                return _state == PubSubClientState.Connected ? _current?.Kind : null;
            }
        }
    }

    /// <summary>The server session's id; null unless connected. It changes with every reconnect.</summary>
    public string? SessionId
    {
        get
        {
            lock (_gate)
            {
                return _state == PubSubClientState.Connected ? _current?.SessionId : null;
            }
        }
    }

    /// <summary>
    /// Raised on every change of <see cref="State"/>, with the transport in use once connected and
    /// the reason when the connection was lost or closed. Raised on the client's own threads: keep
    /// handlers short.
    /// </summary>
    public event EventHandler<PubSubStateChangedEventArgs>? StateChanged;

    /// <summary>
    /// Raised for failures that belong to no request: a frame from the server that is not valid
    /// protocol (code <c>bad_frame</c>; the client reconnects and recovers), an <c>error</c> frame,
    /// or a failed reconnect attempt. Raised on the client's own threads: keep handlers short.
    /// </summary>
    public event EventHandler<PubSubErrorEventArgs>? Error;

    internal JsonSerializerOptions SerializerOptions => _options.SerializerOptions;

    /// <summary>
    /// Connects: asks the server what it offers (negotiate), then tries each allowed transport in
    /// order until one delivers <c>connected</c>. Returns at once when connected already, and waits
    /// for the ongoing attempt when connecting or reconnecting. After a connection was lost, the
    /// client reconnects by itself; this method is only needed once (and again after
    /// <see cref="PubSubClientState.Closed"/>).
    /// </summary>
    /// <exception cref="PubSubException">No transport could connect (the message lists why each failed), or the server refused the client.</exception>
    /// <exception cref="OperationCanceledException">Cancelled first; the client goes back to <see cref="PubSubClientState.Disconnected"/>.</exception>
    public async Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposing is not null, this);
        Task connected;
        PubSubStateChangedEventArgs? changed = null;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposing is not null, this);
            switch (_state)
            {
                case PubSubClientState.Connected:
                    return;
                case PubSubClientState.Connecting or PubSubClientState.Reconnecting:
                    connected = _connected!.Task;
                    break;
                default:
                    var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    signal.Task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                    _connected = signal;
                    _run = new CancellationTokenSource();
                    changed = SetStateLocked(PubSubClientState.Connecting, null);
                    // RunAsync yields at once, so nothing of it runs under the lock.
                    _supervisor = Track(RunAsync(_run, signal));
                    connected = signal.Task;
                    break;
            }
        }
        Raise(changed);
        try
        {
            await connected.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await StopConnectingAsync();
            throw;
        }
    }

    /// <summary>
    /// Subscribes to <paramref name="channel"/> and returns once the server confirmed it. Read the
    /// publications with <see cref="PubSubSubscription.ReadAllAsync"/>; they start with the next
    /// publication (or, with <see cref="PubSubSubscriptionOptions.Since"/>, after that position).
    /// </summary>
    /// <remarks>A refusal that passes by itself (<c>unavailable</c>, <c>timeout</c>, <c>internal</c>)
    /// is asked again after a backoff (1 s, doubling) until <see cref="PubSubClientOptions.RequestTimeout"/>,
    /// and after a reconnect; any other refusal ends the subscription with the server's code.</remarks>
    /// <exception cref="PubSubException">The server refused (its code: <c>unknown_channel</c>,
    /// <c>forbidden</c>, ...; or a transient code it kept answering until the time ran out);
    /// <c>already_subscribed</c> when this client holds a subscription to the channel;
    /// <c>timeout</c> without an answer in time.</exception>
    /// <exception cref="InvalidOperationException">The client is not connected (call <see cref="ConnectAsync"/> first).</exception>
    public Task<PubSubSubscription> SubscribeAsync(string channel, CancellationToken cancellationToken = default) =>
        SubscribeAsync(channel, null, cancellationToken);

    /// <inheritdoc cref="SubscribeAsync(string, CancellationToken)"/>
    public async Task<PubSubSubscription> SubscribeAsync(string channel, PubSubSubscriptionOptions? options, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        cancellationToken.ThrowIfCancellationRequested();
        PubSubSubscription subscription;
        lock (_gate)
        {
            ThrowIfNotConnectedLocked("subscribe");
            if (_subscriptions.ContainsKey(channel))
            {
                throw new PubSubException(PubSubErrorCodes.AlreadySubscribed,
                    $"This client is subscribed to '{channel}' already; read that subscription, or dispose it first.");
            }
            subscription = new PubSubSubscription(this, channel, options?.Since);
            _subscriptions.Add(channel, subscription);
            if (_current is { } connection)
            {
                SendSubscribeLocked(connection, subscription);
            }
        }
        try
        {
            await subscription.Ready.WaitAsync(_options.RequestTimeout, _time, cancellationToken);
            return subscription;
        }
        catch (TimeoutException e)
        {
            Forget(subscription);
            if (subscription.LastRefusal is { } refusal)
            {
                // Refused for now and again until the time ran out: the server's reason says more than 'timeout'.
                throw new PubSubException(refusal.Code,
                    $"The server refused the subscription to '{channel}' for now and did not accept it within {_options.RequestTimeout.TotalSeconds:0.###} s: {refusal.Message}", refusal);
            }
            throw new PubSubException(PubSubErrorCodes.Timeout,
                $"The server did not confirm the subscription to '{channel}' within {_options.RequestTimeout.TotalSeconds:0.###} s.", e);
        }
        catch (OperationCanceledException)
        {
            Forget(subscription);
            throw;
        }
    }

    /// <summary>Publishes <paramref name="value"/>, serialized as JSON with <see cref="PubSubClientOptions.SerializerOptions"/>, and returns its position.</summary>
    /// <exception cref="PubSubException">The server refused (its code, such as <c>forbidden</c>);
    /// <c>message_too_large</c> before sending; <c>timeout</c> or <c>connection_lost</c> when the
    /// outcome is unknown.</exception>
    [RequiresUnreferencedCode("JSON serialization of arbitrary types may need types that trimming removes; use the JsonTypeInfo overload.")]
    [RequiresDynamicCode("JSON serialization of arbitrary types may need runtime code generation; use the JsonTypeInfo overload.")]
    public Task<StreamPosition> PublishAsync<T>(string channel, T value, CancellationToken cancellationToken = default) =>
        value is ArraySegment<byte> segment
            // Bytes in a form the other overloads do not catch are still bytes, not a JSON array.
            ? PublishAsync(channel, segment.AsMemory(), cancellationToken)
            : PublishJsonAsync(channel, writer => JsonSerializer.Serialize(writer, value, _options.SerializerOptions), cancellationToken);

    /// <summary>Publishes <paramref name="value"/>, serialized as JSON with source-generated metadata (trimming- and AOT-safe), and returns its position.</summary>
    /// <inheritdoc cref="PublishAsync{T}(string, T, CancellationToken)" path="/exception"/>
    public Task<StreamPosition> PublishAsync<T>(string channel, T value, JsonTypeInfo<T> jsonTypeInfo, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jsonTypeInfo);
        return PublishJsonAsync(channel, writer => JsonSerializer.Serialize(writer, value, jsonTypeInfo), cancellationToken);
    }

    /// <summary>Publishes a JSON value as it is, and returns its position.</summary>
    /// <inheritdoc cref="PublishAsync{T}(string, T, CancellationToken)" path="/exception"/>
    public Task<StreamPosition> PublishAsync(string channel, JsonElement data, CancellationToken cancellationToken = default)
    {
        if (data.ValueKind == JsonValueKind.Undefined)
        {
            throw new ArgumentException("The JSON element holds no value.", nameof(data));
        }
        return PublishJsonAsync(channel, data.WriteTo, cancellationToken);
    }

    /// <summary>Publishes bytes (delivered as binary, <see cref="PubSubMessage.IsBinary"/>), and returns the position.</summary>
    /// <inheritdoc cref="PublishAsync{T}(string, T, CancellationToken)" path="/exception"/>
    public Task<StreamPosition> PublishAsync(string channel, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        return RequestAsync("publish", id => ClientFrames.PublishBinary(id, channel, bytes.Span), ReadPosition, cancellationToken);
    }

    /// <inheritdoc cref="PublishAsync(string, ReadOnlyMemory{byte}, CancellationToken)"/>
    public Task<StreamPosition> PublishAsync(string channel, Memory<byte> bytes, CancellationToken cancellationToken = default) =>
        PublishAsync(channel, (ReadOnlyMemory<byte>)bytes, cancellationToken);

    /// <inheritdoc cref="PublishAsync(string, ReadOnlyMemory{byte}, CancellationToken)"/>
    public Task<StreamPosition> PublishAsync(string channel, byte[] bytes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        return PublishAsync(channel, new ReadOnlyMemory<byte>(bytes), cancellationToken);
    }

    /// <summary>
    /// Reads a channel's history: without <paramref name="since"/>, the latest <paramref name="limit"/>
    /// retained publications; with it, the first <paramref name="limit"/> after it. Oldest first.
    /// </summary>
    /// <param name="channel">The channel.</param>
    /// <param name="since">Read after this position; null for the latest publications.</param>
    /// <param name="limit">At most this many (1–1000); null for the server's default (100).</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <exception cref="PubSubException">The server refused (<c>epoch_mismatch</c> when <paramref name="since"/> is from an older epoch, <c>forbidden</c>, ...).</exception>
    public Task<PubSubHistory> GetHistoryAsync(string channel, StreamPosition? since = null, int? limit = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        if (limit is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(limit), limit, "The limit must be at least 1.");
        }
        return RequestAsync("history", id => ClientFrames.History(id, channel, since, limit), reply => ReadHistory(channel, reply), cancellationToken);
    }

    /// <summary>A round trip to the server through the send queue: proves the session alive and that everything sent before it was handled.</summary>
    public Task PingAsync(CancellationToken cancellationToken = default) =>
        RequestAsync("ping", ClientFrames.Ping, static _ => true, cancellationToken);

    /// <summary>
    /// Closes the connection (cleanly: a WebSocket close handshake, at most
    /// <see cref="PubSubClientOptions.CloseTimeout"/>), ends every subscription's stream, fails
    /// requests still waiting, and waits until every task the client started has ended.
    /// </summary>
    public ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _disposing ??= DisposeCoreAsync();
            return new ValueTask(_disposing);
        }
    }

    /// <summary>The tasks the client started and has not seen end (for tests: none may outlive <see cref="DisposeAsync"/>).</summary>
    internal Task[] BackgroundTasks
    {
        get
        {
            lock (_tasks)
            {
                return [.. _tasks];
            }
        }
    }

    /// <summary>How many background tasks the client has started in all.</summary>
    internal int BackgroundTasksStarted => Volatile.Read(ref _tasksStarted);

    /// <summary>The connection in use, for tests that break it.</summary>
    internal Connection? CurrentConnection
    {
        get
        {
            lock (_gate)
            {
                return _current;
            }
        }
    }

    // ---- Connecting --------------------------------------------------------------------------

    /// <summary>
    /// The client's one long-running task: connects, adopts the connection, waits for it to end,
    /// and reconnects as the policy says, until the server says stop, the policy gives up, or the
    /// run is cancelled (disposal, or a cancelled <see cref="ConnectAsync"/>).
    /// </summary>
    private async Task RunAsync(CancellationTokenSource run, TaskCompletionSource connected)
    {
        await Task.Yield();
        var token = run.Token;
        Connection connection;
        try
        {
            // The first connect is one round of negotiate and transports, and its failure is the
            // caller's: reconnecting is for connections that worked once.
            connection = await EstablishAsync(token);
        }
        catch (Exception e)
        {
            EndRun(run, PubSubClientState.Disconnected, e);
            connected.TrySetException(token.IsCancellationRequested ? new OperationCanceledException(token) : e);
            return;
        }

        while (true)
        {
            if (!Adopt(run, connection, connected))
            {
                await connection.CloseAsync(_options.CloseTimeout);
                await DetachAsync(connection);
                return;
            }

            ConnectionClosed closed;
            try
            {
                closed = await connection.Closed.WaitAsync(token);
            }
            catch (OperationCanceledException)
            {
                await connection.CloseAsync(_options.CloseTimeout);
                await DetachAsync(connection);
                return;
            }
            await DetachAsync(connection);
            Log.ConnectionLost(_logger, TransportNames.Of(connection.Kind), closed.Reconnect, closed.Error.Message);

            var policy = _options.ReconnectPolicy;
            if (!closed.Reconnect || policy is null)
            {
                CloseForGood(run, closed.Error);
                return;
            }
            if (BeginReconnecting(run, closed.Error) is not { } reconnected)
            {
                return;
            }
            connected = reconnected;

            var lostAt = _time.GetTimestamp();
            var attempts = 0;
            var reason = closed.Error;
            while (true)
            {
                var delay = policy.NextDelay(new ReconnectContext(attempts, _time.GetElapsedTime(lostAt), reason));
                if (delay is not { } wait)
                {
                    Log.GaveUp(_logger, attempts, reason.Message);
                    CloseForGood(run, reason);
                    return;
                }
                Log.Reconnecting(_logger, attempts + 1, wait.TotalMilliseconds);
                try
                {
                    await Task.Delay(wait, _time, token);
                    connection = await EstablishAsync(token);
                    break;
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    attempts++;
                    reason = e;
                    ReportError(e);
                    if (e is PubSubException { IsTerminal: true })
                    {
                        CloseForGood(run, e);
                        return;
                    }
                }
            }
        }
    }

    /// <summary>
    /// The transport this client last fell back to, and when it first did; reconnects start with
    /// it for <see cref="PubSubClientOptions.RememberFallbackFor"/>. Only the run loop touches it.
    /// </summary>
    private (PubSubTransport Kind, long Since)? _fellBackTo;

    /// <summary>
    /// Negotiates, then tries each transport in order (a remembered fall back first); returns the
    /// first connection that delivered <c>connected</c>.
    /// </summary>
    private async Task<Connection> EstablishAsync(CancellationToken cancellationToken)
    {
        string? accessToken = null;
        if (_options.AccessTokenProvider is { } provider)
        {
            try
            {
                accessToken = await provider(cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new PubSubException(PubSubErrorCodes.Unauthorized, $"The access token provider failed: {e.Message}", e);
            }
        }
        var context = new TransportContext
        {
            BaseUri = Uri,
            Http = _http,
            Handler = _options.HttpMessageHandler,
            Headers = _headers,
            AccessToken = accessToken,
            Time = _time,
            LoggerFactory = _loggerFactory,
            RequestTimeout = _options.RequestTimeout,
            ConfigureWebSocket = _options.WebSocketOptions,
        };

        var (info, roundTrip) = await NegotiateAsync(context, cancellationToken);
        _maxMessageSize = info.MaxMessageSize > 0 ? info.MaxMessageSize : DefaultMaxMessageSize;
        context = context with { PollTimeout = TimeSpan.FromSeconds(info.PollTimeout > 0 ? info.PollTimeout : 25) };

        var offered = info.Transports ?? [];
        var order = _options.Transports.Where(t => offered.Contains(TransportNames.Of(t))).ToList();
        if (order.Count == 0)
        {
            var error = new PubSubException(PubSubErrorCodes.NoTransport,
                $"The server offers {(offered.Count == 0 ? "no transports" : string.Join(", ", offered))}; this client allows {string.Join(", ", _options.Transports.Select(TransportNames.Of))}.")
            {
                // A configuration mismatch that retrying will not change.
                IsTerminal = true,
            };
            throw error;
        }

        var preferred = order[0];
        var remembered = _fellBackTo is { } fellBack && order.Contains(fellBack.Kind)
            && _time.GetElapsedTime(fellBack.Since) < _options.RememberFallbackFor;
        if (remembered)
        {
            order.Remove(_fellBackTo!.Value.Kind);
            order.Insert(0, _fellBackTo.Value.Kind);
        }

        var failures = new List<string>();
        foreach (var kind in order)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var timeout = AttemptTimeout(kind, roundTrip);
            var connection = new Connection(CreateTransport(kind, context), this,
                new ConnectionSettings(_options.HeartbeatMargin, _maxMessageSize, _time), _logger, t => Track(t));
            try
            {
                await connection.OpenAsync(timeout, cancellationToken);
                Log.Connected(_logger, TransportNames.Of(kind), connection.SessionId!, connection.Info!.Node ?? "?");
                if (kind == preferred)
                {
                    _fellBackTo = null;
                }
                else if (!(remembered && failures.Count == 0))
                {
                    // A fresh fall back; a remembered one that worked again keeps its first time,
                    // so the full order is tried once RememberFallbackFor has passed.
                    _fellBackTo = (kind, _time.GetTimestamp());
                }
                return connection;
            }
            catch (Exception e)
            {
                await connection.DisposeAsync();
                cancellationToken.ThrowIfCancellationRequested();
                if (e is PubSubDisconnectedException { IsTerminal: true })
                {
                    // The server refused this client for good; no other transport changes that.
                    throw;
                }
                Log.TransportFailed(_logger, TransportNames.Of(kind), e.Message);
                failures.Add($"{TransportNames.Of(kind)}: {e.Message}");
            }
        }
        throw new PubSubException(PubSubErrorCodes.TransportFailed, $"No transport connected to {Uri}. {string.Join(" ", failures)}");
    }

    /// <summary>
    /// <c>GET {prefix}/negotiate</c>, timed: the endpoint does no work beyond formatting, so its
    /// time is the network's round trip, which sizes the transports' timeouts. An answer of 4xx
    /// (other than 408 and 429) is terminal: a wrong URL or a refused credential would only repeat.
    /// </summary>
    private async Task<(NegotiateResponse Info, TimeSpan RoundTrip)> NegotiateAsync(TransportContext context, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, context.Endpoint("negotiate"));
        context.Apply(request);
        using var deadline = new CancellationTokenSource(_options.ConnectTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var started = _time.GetTimestamp();
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, linked.Token);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new PubSubException(PubSubErrorCodes.Timeout, $"GET {request.RequestUri} got no answer within {_options.ConnectTimeout.TotalSeconds:0.###} s.", e);
        }
        catch (HttpRequestException e)
        {
            throw new PubSubException(PubSubErrorCodes.TransportFailed, $"GET {request.RequestUri} failed: {e.Message}", e);
        }
        using (response)
        {
            var roundTrip = _time.GetElapsedTime(started);
            if (!response.IsSuccessStatusCode)
            {
                var status = (int)response.StatusCode;
                throw await TransportContext.ReadErrorAsync(response, $"GET {request.RequestUri}", cancellationToken,
                    terminal: status is >= 400 and < 500 and not 408 and not 429);
            }
            NegotiateResponse? info;
            try
            {
                var body = await response.Content.ReadAsByteArrayAsync(linked.Token);
                info = JsonSerializer.Deserialize(body, ProtocolJsonContext.Default.NegotiateResponse);
            }
            catch (JsonException e)
            {
                throw new PubSubException(PubSubErrorCodes.BadFrame, $"GET {request.RequestUri} did not return the protocol's JSON: {e.Message}", e);
            }
            if (info is null || info.Version != 1)
            {
                var error = new PubSubException(PubSubErrorCodes.BadFrame,
                    $"The server at {Uri} speaks protocol version {info?.Version.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"}; this client speaks version 1.")
                {
                    IsTerminal = true,
                };
                throw error;
            }
            Log.Negotiated(_logger, info.Node ?? "?", string.Join(",", info.Transports ?? []), roundTrip.TotalMilliseconds);
            return (info, roundTrip);
        }
    }

    /// <summary>
    /// How long a transport gets to deliver <c>connected</c>: SockJS's retransmission timeout (4 ×
    /// rtt over 100 ms, 300 ms + rtt below) times the round trips the transport needs (upgrade and
    /// first message; stream headers and first event; one poll), at least
    /// <see cref="MinTransportTimeout"/> and at most <see cref="PubSubClientOptions.ConnectTimeout"/>.
    /// </summary>
    internal TimeSpan AttemptTimeout(PubSubTransport kind, TimeSpan roundTrip)
    {
        if (_options.TransportTimeout is { } fixedTimeout)
        {
            return fixedTimeout;
        }
        var rto = roundTrip > TimeSpan.FromMilliseconds(100) ? roundTrip * 4 : TimeSpan.FromMilliseconds(300) + roundTrip;
        var derived = rto * (kind == PubSubTransport.LongPolling ? 1 : 2);
        var ceiling = _options.ConnectTimeout;
        return derived < MinTransportTimeout ? TimeSpanMin(MinTransportTimeout, ceiling) : TimeSpanMin(derived, ceiling);
    }

    private static TimeSpan TimeSpanMin(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static ITransport CreateTransport(PubSubTransport kind, TransportContext context) => kind switch
    {
        PubSubTransport.WebSocket => new WebSocketTransport(context),
        PubSubTransport.ServerSentEvents => new ServerSentEventsTransport(context),
        PubSubTransport.LongPolling => new LongPollingTransport(context),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>Makes a connected session the one in use: subscribes every channel from its position, then starts sending.</summary>
    private bool Adopt(CancellationTokenSource run, Connection connection, TaskCompletionSource connected)
    {
        PubSubStateChangedEventArgs? changed;
        lock (_gate)
        {
            if (_run != run)
            {
                return false;
            }
            // A connection that ended meanwhile is adopted all the same: its end is then handled
            // like any other, with a reconnect.
            _current = connection;
            foreach (var subscription in _subscriptions.Values)
            {
                SendSubscribeLocked(connection, subscription);
            }
            changed = SetStateLocked(PubSubClientState.Connected, null);
        }
        connection.Start(_shared.Reader);
        Raise(changed);
        connected.TrySetResult();
        return true;
    }

    /// <summary>Takes an ended connection out of use: its requests fail (their outcome is unknown), and every subscription waits to be renewed.</summary>
    private async Task DetachAsync(Connection connection)
    {
        lock (_gate)
        {
            if (_current == connection)
            {
                _current = null;
            }
            foreach (var subscription in _subscriptions.Values)
            {
                if (subscription.ActiveOn == connection)
                {
                    subscription.ActiveOn = null;
                }
            }
        }
        await connection.DisposeAsync();
        var error = connection.Closed.IsCompletedSuccessfully ? connection.Closed.Result.Error : null;
        foreach (var request in _pending.Values)
        {
            if (request.SentOn == connection || request.Target == connection)
            {
                if (_pending.TryRemove(request.Id, out _))
                {
                    request.Fail(new PubSubException(PubSubErrorCodes.ConnectionLost,
                        $"The connection was lost before the reply to the {request.Type} came; it may or may not have taken effect{(error is null ? "." : $" ({error.Message})")}",
                        error));
                }
            }
        }
    }

    private TaskCompletionSource? BeginReconnecting(CancellationTokenSource run, Exception reason)
    {
        PubSubStateChangedEventArgs? changed;
        TaskCompletionSource signal;
        lock (_gate)
        {
            if (_run != run)
            {
                return null;
            }
            signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            signal.Task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            _connected = signal;
            changed = SetStateLocked(PubSubClientState.Reconnecting, reason);
        }
        Raise(changed);
        return signal;
    }

    /// <summary>Ends the run after a connect that failed (<see cref="PubSubClientState.Disconnected"/>).</summary>
    private void EndRun(CancellationTokenSource run, PubSubClientState state, Exception reason)
    {
        PubSubStateChangedEventArgs? changed = null;
        lock (_gate)
        {
            if (_run == run)
            {
                _run = null;
                changed = SetStateLocked(state, reason);
            }
        }
        Raise(changed);
    }

    /// <summary>
    /// The connection ended for good (the server said not to reconnect, or the policy gave up):
    /// subscriptions end with the reason, and requests that wait fail with it.
    /// </summary>
    private void CloseForGood(CancellationTokenSource run, Exception reason)
    {
        PubSubStateChangedEventArgs? changed;
        PubSubSubscription[] subscriptions;
        TaskCompletionSource? signal;
        lock (_gate)
        {
            if (_run != run)
            {
                return;
            }
            _run = null;
            changed = SetStateLocked(PubSubClientState.Closed, reason);
            subscriptions = [.. _subscriptions.Values];
            _subscriptions.Clear();
            signal = _connected;
        }
        Log.Closed(_logger, reason.Message);
        foreach (var subscription in subscriptions)
        {
            subscription.End(reason);
        }
        FailWaiting(reason);
        signal?.TrySetException(reason);
        Raise(changed);
    }

    /// <summary>Fails every request that waits to be sent or answered.</summary>
    private void FailWaiting(Exception reason)
    {
        while (_shared.Reader.TryRead(out var request))
        {
            request.TryAbandon();
        }
        foreach (var id in _pending.Keys)
        {
            if (_pending.TryRemove(id, out var request))
            {
                request.TryAbandon();
                request.Fail(reason is PubSubException ? reason : new PubSubException(PubSubErrorCodes.Closed, reason.Message, reason));
            }
        }
    }

    /// <summary>A cancelled <see cref="ConnectAsync"/>: stop the first connect, if it is still going.</summary>
    private async Task StopConnectingAsync()
    {
        CancellationTokenSource? run = null;
        Task? supervisor = null;
        PubSubStateChangedEventArgs? changed = null;
        lock (_gate)
        {
            if (_state == PubSubClientState.Connecting && _run is not null)
            {
                run = _run;
                supervisor = _supervisor;
                _run = null;
                changed = SetStateLocked(PubSubClientState.Disconnected, null);
            }
        }
        if (run is null)
        {
            return;
        }
        Raise(changed);
        await run.CancelAsync();
        if (supervisor is not null)
        {
            await supervisor;
        }
        run.Dispose();
    }

    private async Task DisposeCoreAsync()
    {
        await Task.Yield();
        CancellationTokenSource? run;
        Task? supervisor;
        PubSubStateChangedEventArgs? changed;
        PubSubSubscription[] subscriptions;
        TaskCompletionSource? signal;
        lock (_gate)
        {
            run = _run;
            _run = null;
            supervisor = _supervisor;
            changed = SetStateLocked(PubSubClientState.Closed, null);
            subscriptions = [.. _subscriptions.Values];
            _subscriptions.Clear();
            signal = _connected;
        }
        Raise(changed);
        if (run is not null)
        {
            // The supervisor closes the connection cleanly and returns.
            await run.CancelAsync();
        }
        if (supervisor is not null)
        {
            await supervisor;
        }
        run?.Dispose();
        _shared.Writer.TryComplete();
        var disposed = new PubSubException(PubSubErrorCodes.Closed, "The client was disposed.", new ObjectDisposedException(nameof(PubSubClient)));
        FailWaiting(disposed);
        signal?.TrySetException(new ObjectDisposedException(nameof(PubSubClient)));
        foreach (var subscription in subscriptions)
        {
            subscription.End(null);
        }
        try
        {
            await Task.WhenAll(BackgroundTasks);
        }
        catch (Exception e)
        {
            // Every loop catches its own failures; one that did not is a bug to log, not a reason
            // for DisposeAsync to throw.
            Log.BackgroundTaskFailed(_logger, e);
        }
        _http.Dispose();
    }

    // ---- Requests ----------------------------------------------------------------------------

    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Only the RequiresUnreferencedCode overload passes a reflection-based writer.")]
    private Task<StreamPosition> PublishJsonAsync(string channel, Action<Utf8JsonWriter> writeData, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        return RequestAsync("publish", id => ClientFrames.Publish(id, channel, writeData), ReadPosition, cancellationToken);
    }

    /// <summary>
    /// Sends a request through the shared queue (waiting for room and, while reconnecting, for the
    /// next connection) and returns its parsed reply, all within <see cref="PubSubClientOptions.RequestTimeout"/>.
    /// </summary>
    private async Task<T> RequestAsync<T>(string type, Func<long, byte[]> build, Func<ServerFrame, T> parse, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ThrowIfNotConnectedLocked(type);
        }
        var id = Interlocked.Increment(ref _nextId);
        var frame = build(id);
        if (frame.Length > _maxMessageSize)
        {
            throw new PubSubException(PubSubErrorCodes.MessageTooLarge,
                $"The {type} frame is {frame.Length} bytes; the server accepts at most {_maxMessageSize}. Nothing was sent.");
        }
        var request = new OutboundRequest(id, type, frame);
        _pending[id] = request;
        using var timeout = new CancellationTokenSource(_options.RequestTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await _shared.Writer.WriteAsync(request, linked.Token);
            var reply = await request.Reply.WaitAsync(linked.Token);
            if (reply.IsErrorReply)
            {
                throw new PubSubException(reply.ErrorCode!, reply.ErrorMessage!);
            }
            return parse(reply);
        }
        catch (OperationCanceledException e) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new PubSubException(PubSubErrorCodes.Timeout, request.TryAbandon()
                ? $"The {type} could not be sent within {_options.RequestTimeout.TotalSeconds:0.###} s; it was not sent."
                : $"No reply to the {type} within {_options.RequestTimeout.TotalSeconds:0.###} s; it may or may not have taken effect.", e);
        }
        catch (OperationCanceledException)
        {
            request.TryAbandon();
            throw;
        }
        catch (ChannelClosedException e)
        {
            throw new PubSubException(PubSubErrorCodes.Closed, "The client was disposed; nothing was sent.", e);
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    private void ThrowIfNotConnectedLocked(string what)
    {
        ObjectDisposedException.ThrowIf(_disposing is not null, this);
        switch (_state)
        {
            case PubSubClientState.Disconnected:
                throw new InvalidOperationException($"The client is not connected; call ConnectAsync before the first {what}.");
            case PubSubClientState.Closed:
                throw new PubSubException(PubSubErrorCodes.Closed, $"The client is closed; call ConnectAsync to connect again before the next {what}.");
        }
    }

    private static StreamPosition ReadPosition(ServerFrame reply) =>
        TryReadPosition(reply.Result, out var position)
            ? position
            : throw new PubSubException(PubSubErrorCodes.BadFrame, $"The reply to request {reply.Id} lacks its position ('epoch', 'offset'): {reply.Result.GetRawText()}");

    private static bool TryReadPosition(JsonElement result, out StreamPosition position)
    {
        if (result.ValueKind == JsonValueKind.Object
            && result.TryGetProperty("epoch"u8, out var epoch) && epoch.ValueKind == JsonValueKind.String
            && result.TryGetProperty("offset"u8, out var offset) && offset.TryGetInt64(out var value))
        {
            position = new StreamPosition(value, epoch.GetString()!);
            return true;
        }
        position = default;
        return false;
    }

    private PubSubHistory ReadHistory(string channel, ServerFrame reply)
    {
        var latest = ReadPosition(reply);
        if (!reply.Result.TryGetProperty("publications"u8, out var list) || list.ValueKind != JsonValueKind.Array)
        {
            throw new PubSubException(PubSubErrorCodes.BadFrame, $"The history reply for '{channel}' has no 'publications' list.");
        }
        var publications = new List<PubSubMessage>(list.GetArrayLength());
        foreach (var item in list.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("offset"u8, out var offsetElement) || !offsetElement.TryGetInt64(out var offset))
            {
                throw new PubSubException(PubSubErrorCodes.BadFrame, $"A publication in the history of '{channel}' has no offset: {item.GetRawText()}");
            }
            var position = new StreamPosition(offset, latest.Epoch);
            if (item.TryGetProperty("binary"u8, out var binary) && binary.ValueKind == JsonValueKind.String && binary.TryGetBytesFromBase64(out var bytes))
            {
                publications.Add(new PubSubMessage(channel, position, bytes, _options.SerializerOptions));
            }
            else if (item.TryGetProperty("data"u8, out var data))
            {
                publications.Add(new PubSubMessage(channel, position, data.Clone(), _options.SerializerOptions));
            }
            else
            {
                throw new PubSubException(PubSubErrorCodes.BadFrame, $"Publication {position} in the history of '{channel}' has neither valid 'data' nor 'binary'.");
            }
        }
        return new PubSubHistory(latest, publications);
    }

    // ---- Subscriptions -----------------------------------------------------------------------

    /// <summary>Queues a subscribe for <paramref name="subscription"/> on <paramref name="connection"/>, from its position when it has one.</summary>
    private void SendSubscribeLocked(Connection connection, PubSubSubscription subscription)
    {
        var since = subscription.RecoveryPosition;
        var id = Interlocked.Increment(ref _nextId);
        var request = new OutboundRequest(id, "subscribe", ClientFrames.Subscribe(id, subscription.Channel, since),
            (reply, on) => OnSubscribeReply(subscription, since, reply, on))
        {
            Target = connection,
        };
        _pending[id] = request;
        connection.EnqueueControl(request);
    }

    /// <summary>Runs on the receive loop before the frames after the reply: the messages that follow a subscribe need its outcome.</summary>
    private void OnSubscribeReply(PubSubSubscription subscription, StreamPosition? since, ServerFrame reply, Connection connection)
    {
        var rule = RetryRule.Never;
        lock (_gate)
        {
            if (_subscriptions.GetValueOrDefault(subscription.Channel) != subscription || _current != connection)
            {
                return;
            }
            if (reply.IsErrorReply)
            {
                // The code decides (protocol/error-codes.json): a refusal that passes by itself (the
                // broker is down, a fault) leaves the subscription wanted, and it is asked for again
                // after a backoff, as client-js does; a session that is gone is a reconnect's to
                // fix, which subscribes everything again; any other refusal ends it.
                rule = ErrorRules.RetryOf(reply.ErrorCode!);
                if (rule == RetryRule.Never)
                {
                    _subscriptions.Remove(subscription.Channel);
                }
            }
        }
        if (reply.IsErrorReply)
        {
            var error = new PubSubException(reply.ErrorCode!, reply.ErrorMessage!);
            switch (rule)
            {
                case RetryRule.Later:
                    var delay = subscription.NextRetryDelay(error);
                    Log.ResubscribeDeferred(_logger, subscription.Channel, reply.ErrorCode!, delay.TotalSeconds);
                    Track(ResubscribeLaterAsync(subscription, connection, delay));
                    break;
                case RetryRule.Reconnect:
                    connection.Fail(error, reconnect: true);
                    break;
                default:
                    Log.SubscriptionRefused(_logger, subscription.Channel, error.Message);
                    subscription.End(error);
                    break;
            }
            return;
        }
        if (!TryReadPosition(reply.Result, out var latest))
        {
            var error = new PubSubException(PubSubErrorCodes.BadFrame, $"The subscribe reply for '{subscription.Channel}' lacks its position: {reply.Result.GetRawText()}");
            ReportError(error);
            connection.Fail(error, reconnect: true);
            return;
        }
        var recovered = reply.Result.TryGetProperty("recovered"u8, out var flag) && flag.ValueKind == JsonValueKind.True;
        if (since is not null && !recovered)
        {
            Log.NotRecovered(_logger, subscription.Channel, since.Value.ToString(), latest.ToString());
        }
        subscription.OnSubscribed(connection, latest, since, recovered);
    }

    /// <summary>Subscribes again on the same connection after <paramref name="delay"/>; a new connection subscribes everything anyway.</summary>
    private async Task ResubscribeLaterAsync(PubSubSubscription subscription, Connection connection, TimeSpan delay)
    {
        if (await Task.WhenAny(Task.Delay(delay, _time), connection.Closed) != connection.Closed)
        {
            lock (_gate)
            {
                if (_subscriptions.GetValueOrDefault(subscription.Channel) == subscription && _current == connection && !connection.IsEnded)
                {
                    SendSubscribeLocked(connection, subscription);
                }
            }
        }
    }

    internal async ValueTask UnsubscribeAsync(PubSubSubscription subscription, CancellationToken cancellationToken)
    {
        OutboundRequest? request = null;
        lock (_gate)
        {
            if (_subscriptions.GetValueOrDefault(subscription.Channel) != subscription)
            {
                return;
            }
            _subscriptions.Remove(subscription.Channel);
            if (_current is { } connection)
            {
                var id = Interlocked.Increment(ref _nextId);
                request = new OutboundRequest(id, "unsubscribe", ClientFrames.Unsubscribe(id, subscription.Channel)) { Target = connection };
                _pending[id] = request;
                connection.EnqueueControl(request);
            }
        }
        subscription.End(null);
        if (request is null)
        {
            return;
        }
        try
        {
            var reply = await request.Reply.WaitAsync(_options.RequestTimeout, _time, cancellationToken);
            // not_subscribed: the subscribe it follows failed, or the server had ended it. Over either way.
            if (reply.IsErrorReply && reply.ErrorCode != PubSubErrorCodes.NotSubscribed)
            {
                throw new PubSubException(reply.ErrorCode!, reply.ErrorMessage!);
            }
        }
        catch (PubSubException e) when (e.Code is PubSubErrorCodes.ConnectionLost or PubSubErrorCodes.Closed)
        {
            // A session that is gone holds no subscriptions.
        }
        catch (TimeoutException e)
        {
            throw new PubSubException(PubSubErrorCodes.Timeout,
                $"The server did not confirm the unsubscribe from '{subscription.Channel}' within {_options.RequestTimeout.TotalSeconds:0.###} s.", e);
        }
        finally
        {
            _pending.TryRemove(request.Id, out _);
        }
    }

    /// <summary>Drops a subscription whose subscribe the caller stopped waiting for; the server is told, without waiting for its answer.</summary>
    private void Forget(PubSubSubscription subscription)
    {
        lock (_gate)
        {
            if (_subscriptions.GetValueOrDefault(subscription.Channel) != subscription)
            {
                return;
            }
            _subscriptions.Remove(subscription.Channel);
            if (_current is { } connection)
            {
                // Sent after the subscribe on the same queue, so the server ends what it may still start.
                var id = Interlocked.Increment(ref _nextId);
                connection.EnqueueControl(new OutboundRequest(id, "unsubscribe", ClientFrames.Unsubscribe(id, subscription.Channel)) { Target = connection });
            }
        }
        subscription.End(null);
    }

    // ---- Frames from the connection ----------------------------------------------------------

    void IConnectionListener.OnFrame(Connection connection, ServerFrame frame)
    {
        switch (frame.Type)
        {
            case ServerFrameType.Message:
                PubSubSubscription? subscription;
                lock (_gate)
                {
                    subscription = _subscriptions.GetValueOrDefault(frame.Channel!);
                }
                // A message before the subscribe's reply belongs to an earlier subscription of this session.
                if (subscription is not null && subscription.ActiveOn == connection)
                {
                    subscription.OnMessage(frame);
                }
                break;
            case ServerFrameType.Reply:
                if (_pending.TryRemove(frame.Id, out var request))
                {
                    request.Complete(frame, connection);
                }
                break;
            case ServerFrameType.Error:
                ReportError(new PubSubException(frame.ErrorCode!, $"The server reported an error: {frame.ErrorMessage}"));
                break;
            case ServerFrameType.Unsubscribed:
                OnUnsubscribed(connection, frame);
                break;
            case ServerFrameType.Subscribed:
                OnSubscribed(connection, frame);
                break;
            default:
                // pong (its arrival counted as life already), or a frame type added after this
                // client: ignored (section 2).
                break;
        }
    }

    void IConnectionListener.OnBadFrame(Connection connection, PubSubException error) => ReportError(error);

    void IConnectionListener.OnBatchRefused(IReadOnlyList<OutboundRequest> requests, PubSubException error)
    {
        foreach (var request in requests)
        {
            if (_pending.TryRemove(request.Id, out _))
            {
                request.Fail(error);
            }
        }
    }

    /// <summary>
    /// A <c>subscribed</c> frame for a subscription that is live on this connection, with
    /// <c>recovered: false</c>: the server lost publications of it and says where the stream goes
    /// on. (This client puts no channels on the URL, so a <c>subscribed</c> frame is never the
    /// start of a subscription.)
    /// </summary>
    private void OnSubscribed(Connection connection, ServerFrame frame)
    {
        if (frame.Recovered != false)
        {
            return;
        }
        PubSubSubscription? subscription;
        lock (_gate)
        {
            subscription = _subscriptions.GetValueOrDefault(frame.Channel!);
        }
        if (subscription is not null && subscription.ActiveOn == connection)
        {
            Log.LiveGap(_logger, frame.Channel!, frame.Position.ToString());
            subscription.OnLiveGap(frame.Position);
        }
    }

    /// <summary>The server ended a subscription: the stream ends with the server's code and reason.</summary>
    private void OnUnsubscribed(Connection connection, ServerFrame frame)
    {
        PubSubSubscription? subscription;
        lock (_gate)
        {
            subscription = _subscriptions.GetValueOrDefault(frame.Channel!);
            if (subscription is null || subscription.ActiveOn != connection)
            {
                return;
            }
            _subscriptions.Remove(frame.Channel!);
        }
        subscription.End(new PubSubException(frame.ErrorCode!,
            string.IsNullOrEmpty(frame.ErrorMessage) ? $"The server ended the subscription to '{frame.Channel}'." : frame.ErrorMessage));
    }

    // ---- Events, state, tasks ----------------------------------------------------------------

    private PubSubStateChangedEventArgs? SetStateLocked(PubSubClientState state, Exception? error)
    {
        var previous = _state;
        if (previous == state && error is null && state != PubSubClientState.Connected)
        {
            return null;
        }
        _state = state;
        var connected = state == PubSubClientState.Connected ? _current : null;
        return new PubSubStateChangedEventArgs(previous, state, connected?.Kind, connected?.SessionId, error);
    }

    private void Raise(PubSubStateChangedEventArgs? changed)
    {
        if (changed is null)
        {
            return;
        }
        Log.StateChanged(_logger, changed.PreviousState, changed.State, changed.Transport?.ToString() ?? "-");
        Raise(StateChanged, this, changed);
    }

    internal void ReportError(Exception error) => Raise(Error, this, new PubSubErrorEventArgs(error));

    /// <summary>Runs the application's handlers; one that throws is logged and does not disturb the client.</summary>
    internal void Raise<TArgs>(EventHandler<TArgs>? handler, object sender, TArgs args)
    {
        if (handler is null)
        {
            return;
        }
        try
        {
            handler(sender, args);
        }
        catch (Exception e)
        {
            Log.HandlerFailed(_logger, typeof(TArgs).Name, e);
        }
    }

    internal void LogUnsubscribeFailed(string channel, Exception error) => Log.UnsubscribeFailed(_logger, channel, error.Message);

    private Task Track(Task task)
    {
        Interlocked.Increment(ref _tasksStarted);
        lock (_tasks)
        {
            _tasks.RemoveAll(t => t.IsCompleted);
            _tasks.Add(task);
        }
        return task;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "Negotiated with node {Node}: transports {Transports}, round trip {RoundTripMs} ms")]
        public static partial void Negotiated(ILogger logger, string node, string transports, double roundTripMs);

        [LoggerMessage(2, LogLevel.Information, "Connected over {Transport}: session {SessionId} on node {Node}")]
        public static partial void Connected(ILogger logger, string transport, string sessionId, string node);

        [LoggerMessage(3, LogLevel.Information, "The {Transport} transport failed; trying the next one: {Reason}")]
        public static partial void TransportFailed(ILogger logger, string transport, string reason);

        [LoggerMessage(4, LogLevel.Warning, "The {Transport} connection was lost (reconnect: {Reconnect}): {Reason}")]
        public static partial void ConnectionLost(ILogger logger, string transport, bool reconnect, string reason);

        [LoggerMessage(5, LogLevel.Information, "Reconnect attempt {Attempt} in {DelayMs:0} ms")]
        public static partial void Reconnecting(ILogger logger, int attempt, double delayMs);

        [LoggerMessage(6, LogLevel.Warning, "Gave up reconnecting after {Attempts} attempts: {Reason}")]
        public static partial void GaveUp(ILogger logger, int attempts, string reason);

        [LoggerMessage(7, LogLevel.Warning, "The client closed: {Reason}")]
        public static partial void Closed(ILogger logger, string reason);

        [LoggerMessage(8, LogLevel.Debug, "State {Previous} -> {State} (transport {Transport})")]
        public static partial void StateChanged(ILogger logger, PubSubClientState previous, PubSubClientState state, string transport);

        [LoggerMessage(9, LogLevel.Warning, "The server refused the subscription to '{Channel}': {Reason}")]
        public static partial void SubscriptionRefused(ILogger logger, string channel, string reason);

        [LoggerMessage(10, LogLevel.Warning, "'{Channel}' could not be recovered from {Since}; it continues from {Position} and publications in between are lost to it")]
        public static partial void NotRecovered(ILogger logger, string channel, string since, string position);

        [LoggerMessage(11, LogLevel.Error, "A {EventArgs} handler threw")]
        public static partial void HandlerFailed(ILogger logger, string eventArgs, Exception exception);

        [LoggerMessage(14, LogLevel.Error, "A background task of the client failed")]
        public static partial void BackgroundTaskFailed(ILogger logger, Exception exception);

        [LoggerMessage(13, LogLevel.Warning, "The server lost publications of '{Channel}'; it continues after {Position}")]
        public static partial void LiveGap(ILogger logger, string channel, string position);

        [LoggerMessage(12, LogLevel.Debug, "Unsubscribing from '{Channel}' failed: {Reason}")]
        public static partial void UnsubscribeFailed(ILogger logger, string channel, string reason);

        [LoggerMessage(30, LogLevel.Information, "Subscribing to '{Channel}' again failed for now ({Code}); asking again in {Seconds:0.#} s.")]
        public static partial void ResubscribeDeferred(ILogger logger, string channel, string code, double seconds);
    }
}
