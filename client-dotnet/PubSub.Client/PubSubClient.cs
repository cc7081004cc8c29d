using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PubSub.Client.Connections;
using PubSub.Client.Protocol;

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
public sealed partial class PubSubClient : IAsyncDisposable
{
    private readonly PubSubClientOptions _options;
    private readonly ILogger _logger;
    private readonly HttpClient _http;
    private readonly Supervisor _supervisor;
    private readonly PublishRetrier _publisher;
    private readonly Lock _disposeGate = new();
    private Task? _disposing;

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
        var loggerFactory = _options.LoggerFactory ?? NullLoggerFactory.Instance;
        _logger = loggerFactory.CreateLogger<PubSubClient>();
        _http = _options.HttpMessageHandler is { } handler
            ? new HttpClient(handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan }
            : new HttpClient(new SocketsHttpHandler(), disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
        _supervisor = new Supervisor(this, _options, _http, loggerFactory, _logger);
        _publisher = new PublishRetrier(_supervisor.Requests, _options, _logger);
    }

    /// <summary>The endpoints' prefix.</summary>
    public Uri Uri { get; }

    /// <summary>Where the client is in its life. <see cref="StateChanged"/> reports every change.</summary>
    public PubSubClientState State => _supervisor.Snapshot.State;

    /// <summary>The encoding of the session in use (null unless connected): the negotiated one, or JSON on SSE.</summary>
    internal PubSubEncoding? SessionEncoding => _supervisor.WithState(static (_, connection) => connection?.Codec.Encoding);

    /// <summary>The transport in use; null unless <see cref="State"/> is <see cref="PubSubClientState.Connected"/>.</summary>
    public PubSubTransport? Transport => Connected?.Kind;

    /// <summary>The server session's id; null unless connected. It changes with every reconnect (and upgrade to WebSocket).</summary>
    public string? SessionId => Connected?.SessionId;

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

    /// <summary>
    /// Raised when the server subscribed this client to a channel it did not ask for (the server's
    /// connect hook, or the server API's subscribe), with the new subscription: attach its
    /// handlers and start reading it here. Raised on the client's receive loop before any of its
    /// messages is handled, so none is missed; keep handlers short. After a reconnect the server
    /// subscribes the same channels again; they stay the same subscriptions and are not announced
    /// again (the gap is filled from history, or reported by <see cref="PubSubSubscription.Missed"/>).
    /// </summary>
    public event EventHandler<PubSubServerSubscribedEventArgs>? ServerSubscribed;

    /// <summary>The client's subscriptions now: the application's and the server's (<see cref="PubSubSubscription.IsServerSide"/>).</summary>
    public IReadOnlyList<PubSubSubscription> Subscriptions => _supervisor.Subscriptions.Snapshot();

    /// <summary>The subscription to <paramref name="channel"/>, the application's or the server's; null when there is none.</summary>
    public PubSubSubscription? GetSubscription(string channel)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        return _supervisor.Subscriptions.Find(channel);
    }

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
    public Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(IsDisposing, this);
        return _supervisor.ConnectAsync(cancellationToken);
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
        var subscription = _supervisor.WithState((state, _) =>
        {
            ThrowIfNotConnected(state, "subscribe");
            return _supervisor.Subscriptions.AddLocked(channel, options?.Since);
        });
        try
        {
            await subscription.Ready.WaitAsync(_options.RequestTimeout, _options.TimeProvider, cancellationToken);
            return subscription;
        }
        catch (TimeoutException e)
        {
            _supervisor.Subscriptions.Forget(subscription);
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
            _supervisor.Subscriptions.Forget(subscription);
            throw;
        }
    }

    /// <summary>Publishes <paramref name="value"/>, serialized as JSON with <see cref="PubSubClientOptions.SerializerOptions"/>, and returns its position.</summary>
    /// <remarks>A publish whose connection drops before its reply, or that fails for now
    /// (<c>unavailable</c>, <c>timeout</c>, ...), is sent again with the same idempotency key
    /// (<see cref="PubSubClientOptions.PublishRetries"/>), so the server publishes it once.</remarks>
    /// <exception cref="PubSubException">The server refused (its code, such as <c>forbidden</c>);
    /// <c>message_too_large</c> before sending; <c>timeout</c> or <c>connection_lost</c> when the
    /// outcome is unknown and the retries ran out.</exception>
    [RequiresUnreferencedCode("JSON serialization of arbitrary types may need types that trimming removes; use the JsonTypeInfo overload.")]
    [RequiresDynamicCode("JSON serialization of arbitrary types may need runtime code generation; use the JsonTypeInfo overload.")]
    public Task<StreamPosition> PublishAsync<T>(string channel, T value, CancellationToken cancellationToken = default) =>
        PublishAsync(channel, value, idempotencyKey: null, cancellationToken);

    /// <summary>
    /// Publishes <paramref name="value"/> as <see cref="PublishAsync{T}(string, T, CancellationToken)"/>
    /// does, with an idempotency key: a publish with the same key to the same channel within the
    /// server's idempotency window (5 minutes by default), from any client or node, is not published
    /// again, and gets the first one's position.
    /// </summary>
    /// <param name="channel">The channel.</param>
    /// <param name="value">The data.</param>
    /// <param name="idempotencyKey">1 to 128 characters; null for a generated one (while <see cref="PubSubClientOptions.PublishRetries"/> is above 0) or none.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <exception cref="ArgumentException">The key is empty or longer than 128 characters; nothing was sent.</exception>
    /// <inheritdoc cref="PublishAsync{T}(string, T, CancellationToken)" path="/exception"/>
    [RequiresUnreferencedCode("JSON serialization of arbitrary types may need types that trimming removes; use the JsonTypeInfo overload.")]
    [RequiresDynamicCode("JSON serialization of arbitrary types may need runtime code generation; use the JsonTypeInfo overload.")]
    public Task<StreamPosition> PublishAsync<T>(string channel, T value, string? idempotencyKey, CancellationToken cancellationToken = default) =>
        value switch
        {
            // Bytes in a form the other overloads do not catch are still bytes, not a JSON array.
            byte[] bytes => PublishAsync(channel, new ReadOnlyMemory<byte>(bytes), idempotencyKey, cancellationToken),
            ArraySegment<byte> segment => PublishAsync(channel, segment.AsMemory(), idempotencyKey, cancellationToken),
            Memory<byte> memory => PublishAsync(channel, (ReadOnlyMemory<byte>)memory, idempotencyKey, cancellationToken),
            ReadOnlyMemory<byte> memory => PublishAsync(channel, memory, idempotencyKey, cancellationToken),
            _ => PublishJsonAsync(channel, writer => JsonSerializer.Serialize(writer, value, _options.SerializerOptions), idempotencyKey, cancellationToken),
        };

    /// <summary>Publishes <paramref name="value"/>, serialized as JSON with source-generated metadata (trimming- and AOT-safe), and returns its position.</summary>
    /// <inheritdoc cref="PublishAsync{T}(string, T, CancellationToken)" path="/exception"/>
    public Task<StreamPosition> PublishAsync<T>(string channel, T value, JsonTypeInfo<T> jsonTypeInfo, CancellationToken cancellationToken = default) =>
        PublishAsync(channel, value, jsonTypeInfo, idempotencyKey: null, cancellationToken);

    /// <summary>Publishes <paramref name="value"/> with source-generated metadata and an idempotency key (see <see cref="PublishAsync{T}(string, T, string, CancellationToken)"/>).</summary>
    /// <inheritdoc cref="PublishAsync{T}(string, T, string, CancellationToken)" path="/exception"/>
    public Task<StreamPosition> PublishAsync<T>(string channel, T value, JsonTypeInfo<T> jsonTypeInfo, string? idempotencyKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jsonTypeInfo);
        return PublishJsonAsync(channel, writer => JsonSerializer.Serialize(writer, value, jsonTypeInfo), idempotencyKey, cancellationToken);
    }

    /// <summary>Publishes a JSON value as it is, and returns its position.</summary>
    /// <inheritdoc cref="PublishAsync{T}(string, T, CancellationToken)" path="/exception"/>
    public Task<StreamPosition> PublishAsync(string channel, JsonElement data, CancellationToken cancellationToken = default) =>
        PublishAsync(channel, data, idempotencyKey: null, cancellationToken);

    /// <summary>Publishes a JSON value as it is, with an idempotency key (see <see cref="PublishAsync{T}(string, T, string, CancellationToken)"/>).</summary>
    /// <inheritdoc cref="PublishAsync{T}(string, T, string, CancellationToken)" path="/exception"/>
    public Task<StreamPosition> PublishAsync(string channel, JsonElement data, string? idempotencyKey, CancellationToken cancellationToken = default)
    {
        if (data.ValueKind == JsonValueKind.Undefined)
        {
            throw new ArgumentException("The JSON element holds no value.", nameof(data));
        }
        return PublishJsonAsync(channel, data.WriteTo, idempotencyKey, cancellationToken);
    }

    /// <summary>Publishes bytes (delivered as binary, <see cref="PubSubMessage.IsBinary"/>), and returns the position.</summary>
    /// <inheritdoc cref="PublishAsync{T}(string, T, CancellationToken)" path="/exception"/>
    public Task<StreamPosition> PublishAsync(string channel, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default) =>
        PublishAsync(channel, bytes, idempotencyKey: null, cancellationToken);

    /// <summary>Publishes bytes with an idempotency key (see <see cref="PublishAsync{T}(string, T, string, CancellationToken)"/>).</summary>
    /// <inheritdoc cref="PublishAsync{T}(string, T, string, CancellationToken)" path="/exception"/>
    public Task<StreamPosition> PublishAsync(string channel, ReadOnlyMemory<byte> bytes, string? idempotencyKey, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        return PublishFrameAsync((codec, id, key) => codec.PublishBinary(id, channel, bytes.Span, key), idempotencyKey, cancellationToken);
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
    /// Who is subscribed to <paramref name="channel"/>, on every node: at most 1,000 members, in no
    /// particular order (<see cref="PubSubPresence.Truncated"/> when there are more). It needs the
    /// rights to subscribe to the channel, and a channel whose template keeps presence.
    /// </summary>
    /// <exception cref="PubSubException">The server refused: <c>presence_disabled</c> (the channel's
    /// template keeps no presence), <c>forbidden</c>, <c>unknown_channel</c>, ...</exception>
    public Task<PubSubPresence> PresenceAsync(string channel, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        return RequestAsync("presence", (codec, id) => codec.Presence(id, channel), Replies.ReadPresence, cancellationToken);
    }

    /// <summary>How many clients, and distinct signed-in users, are subscribed to <paramref name="channel"/>, on every node; for channels too large to list.</summary>
    /// <inheritdoc cref="PresenceAsync" path="/exception"/>
    public Task<PubSubPresenceStats> PresenceStatsAsync(string channel, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        return RequestAsync("presence_stats", (codec, id) => codec.PresenceStats(id, channel), Replies.ReadPresenceStats, cancellationToken);
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
        return RequestAsync("history", (codec, id) => codec.History(id, channel, since, limit), reply => Replies.ReadHistory(channel, reply, _options.SerializerOptions), cancellationToken);
    }

    /// <summary>A round trip to the server through the send queue: proves the session alive and that everything sent before it was handled.</summary>
    public Task PingAsync(CancellationToken cancellationToken = default) =>
        RequestAsync("ping", static (codec, id) => codec.Ping(id), static _ => true, cancellationToken);

    /// <summary>
    /// Closes the connection (cleanly: a WebSocket close handshake, at most
    /// <see cref="PubSubClientOptions.CloseTimeout"/>), ends every subscription's stream, fails
    /// requests still waiting, and waits until every task the client started has ended.
    /// </summary>
    public ValueTask DisposeAsync()
    {
        lock (_disposeGate)
        {
            _disposing ??= DisposeCoreAsync();
            return new ValueTask(_disposing);
        }
    }

    /// <summary>The tasks the client started and has not seen end (for tests: none may outlive <see cref="DisposeAsync"/>).</summary>
    internal Task[] BackgroundTasks => _supervisor.Tasks.All;

    /// <summary>How many background tasks the client has started in all.</summary>
    internal int BackgroundTasksStarted => _supervisor.Tasks.Started;

    /// <summary>The connection in use, for tests that break it.</summary>
    internal Connection? CurrentConnection => _supervisor.Snapshot.Current;

    /// <inheritdoc cref="TransportSelector.AttemptTimeout"/>
    internal TimeSpan AttemptTimeout(PubSubTransport kind, TimeSpan roundTrip) => _supervisor.Selector.AttemptTimeout(kind, roundTrip);

    internal ValueTask UnsubscribeAsync(PubSubSubscription subscription, CancellationToken cancellationToken) =>
        _supervisor.Subscriptions.UnsubscribeAsync(subscription, cancellationToken);

    internal void RaiseStateChanged(PubSubStateChangedEventArgs changed)
    {
        Log.StateChanged(_logger, changed.PreviousState, changed.State, changed.Transport?.ToString() ?? "-");
        Raise(StateChanged, this, changed);
    }

    internal void ReportError(Exception error) => Raise(Error, this, new PubSubErrorEventArgs(error));

    internal void RaiseServerSubscribed(PubSubSubscription subscription) => Raise(ServerSubscribed, this, new PubSubServerSubscribedEventArgs(subscription));

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

    private bool IsDisposing
    {
        get
        {
            lock (_disposeGate)
            {
                return _disposing is not null;
            }
        }
    }

    private Connection? Connected => _supervisor.Snapshot is (PubSubClientState.Connected, { } connection) ? connection : null;

    private async Task DisposeCoreAsync()
    {
        await _supervisor.DisposeAsync();
        _http.Dispose();
    }

    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Only the RequiresUnreferencedCode overload passes a reflection-based writer.")]
    private Task<StreamPosition> PublishJsonAsync(string channel, Action<Utf8JsonWriter> writeData, string? idempotencyKey, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        return PublishFrameAsync((codec, id, key) => codec.Publish(id, channel, writeData, key), idempotencyKey, cancellationToken);
    }

    /// <inheritdoc cref="PublishRetrier.PublishAsync"/>
    private Task<StreamPosition> PublishFrameAsync(Func<FrameCodec, long, string?, byte[]> build, string? idempotencyKey, CancellationToken cancellationToken)
    {
        // Checked first, so a bad key fails the same way connected or not, and nothing is sent.
        PublishRetrier.Validate(idempotencyKey);
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfNotConnected(State, "publish");
        return _publisher.PublishAsync(build, idempotencyKey, cancellationToken);
    }

    /// <inheritdoc cref="RequestTracker.SendAsync"/>
    private Task<T> RequestAsync<T>(string type, Func<FrameCodec, long, byte[]> build, Func<ServerFrame, T> parse, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfNotConnected(State, type);
        return _supervisor.Requests.SendAsync(type, build, parse, cancellationToken);
    }

    private void ThrowIfNotConnected(PubSubClientState state, string what)
    {
        ObjectDisposedException.ThrowIf(IsDisposing, this);
        switch (state)
        {
            case PubSubClientState.Disconnected:
                throw new InvalidOperationException($"The client is not connected; call ConnectAsync before the first {what}.");
            case PubSubClientState.Closed:
                throw new PubSubException(PubSubErrorCodes.Closed, $"The client is closed; call ConnectAsync to connect again before the next {what}.");
        }
    }

    private static partial class Log
    {
        [LoggerMessage(8, LogLevel.Debug, "State {Previous} -> {State} (transport {Transport})")]
        public static partial void StateChanged(ILogger logger, PubSubClientState previous, PubSubClientState state, string transport);

        [LoggerMessage(11, LogLevel.Error, "A {EventArgs} handler threw")]
        public static partial void HandlerFailed(ILogger logger, string eventArgs, Exception exception);

        [LoggerMessage(12, LogLevel.Debug, "Unsubscribing from '{Channel}' failed: {Reason}")]
        public static partial void UnsubscribeFailed(ILogger logger, string channel, string reason);
    }
}
