using System.Net.WebSockets;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace PubSub.Client;

/// <summary>
/// Settings of a <see cref="PubSubClient"/>. Every property has a documented default; the client
/// checks them when it is created and throws <see cref="ArgumentException"/> for a bad one.
/// </summary>
public sealed class PubSubClientOptions
{
    /// <summary>Default <see cref="ConnectTimeout"/>: 10 s.</summary>
    public static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Default <see cref="RequestTimeout"/>: 30 s.</summary>
    public static readonly TimeSpan DefaultRequestTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Default <see cref="HeartbeatMargin"/>: 10 s, the server's default pong timeout (protocol section 2.6).</summary>
    public static readonly TimeSpan DefaultHeartbeatMargin = TimeSpan.FromSeconds(10);

    /// <summary>Default <see cref="CloseTimeout"/>: 2 s.</summary>
    public static readonly TimeSpan DefaultCloseTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Default <see cref="RememberFallbackFor"/>: 5 min.</summary>
    public static readonly TimeSpan DefaultRememberFallbackFor = TimeSpan.FromMinutes(5);

    /// <summary>Default <see cref="PublishRetries"/>: 3.</summary>
    public const int DefaultPublishRetries = 3;

    /// <summary>Default <see cref="SendQueueCapacity"/>: 1,024 requests.</summary>
    public const int DefaultSendQueueCapacity = 1024;

    /// <summary>The default of <see cref="UpgradeProbeInterval"/>: 30 s, as in client-js.</summary>
    public static readonly TimeSpan DefaultUpgradeProbeInterval = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Called before each connect (the first and every reconnect) for a bearer token, sent as
    /// <c>Authorization: Bearer {token}</c> on every HTTP and WebSocket request of that
    /// connection. Return null to send none. Default: none.
    /// </summary>
    public Func<CancellationToken, ValueTask<string?>>? AccessTokenProvider { get; set; }

    /// <summary>Headers added to every HTTP and WebSocket request. Default: none.</summary>
    public IDictionary<string, string> Headers { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The transports the client may use, in the order it tries them; those the server does not
    /// offer (its negotiate answer) are skipped. Default: WebSocket, Server-Sent Events, long-polling.
    /// </summary>
    public IList<PubSubTransport> Transports { get; } =
        [PubSubTransport.WebSocket, PubSubTransport.ServerSentEvents, PubSubTransport.LongPolling];

    /// <summary>
    /// How frames are encoded (docs/protocol.md, section 6). With <see cref="PubSubEncoding.MessagePack"/>
    /// the client speaks MessagePack on WebSocket (subprotocol <c>pubsub.msgpack</c>) and
    /// long-polling, and JSON on Server-Sent Events, which carry text only; publications reach the
    /// application the same either way. A server whose negotiate answer does not list
    /// <c>msgpack</c> gets JSON, and the client logs a warning saying so. Default <see cref="PubSubEncoding.Json"/>.
    /// </summary>
    public PubSubEncoding Encoding { get; set; } = PubSubEncoding.Json;

    /// <summary>
    /// How long the negotiate request may take, and the most any one transport may take to deliver
    /// <c>connected</c>. Default 10 s.
    /// </summary>
    public TimeSpan ConnectTimeout { get; set; } = DefaultConnectTimeout;

    /// <summary>
    /// How long each transport may take to deliver <c>connected</c> before the next one is tried.
    /// Default null: derived from negotiate's round trip (as SockJS does, at least 2 s and at most
    /// <see cref="ConnectTimeout"/>), so a proxy that swallows WebSockets costs little.
    /// </summary>
    public TimeSpan? TransportTimeout { get; set; }

    /// <summary>
    /// After the client fell back (say from WebSocket to Server-Sent Events, because a proxy
    /// swallows upgrades), how long its reconnects start with the transport that worked instead
    /// of paying the failed ones' timeouts again. Once it has passed, a reconnect tries the full
    /// order again; while connected, <see cref="UpgradeProbeInterval"/> moves back up sooner. <see cref="TimeSpan.Zero"/> turns this
    /// off. Default 5 min.
    /// </summary>
    public TimeSpan RememberFallbackFor { get; set; } = DefaultRememberFallbackFor;

    /// <summary>
    /// While connected over Server-Sent Events or long-polling, how often the client tries a
    /// WebSocket in the background (when it allows WebSocket and the server offers it). When one
    /// connects, the subscriptions resume on it from their positions (no publication lost or
    /// repeated) and the fallback connection closes. Default 30 s; null never probes.
    /// </summary>
    public TimeSpan? UpgradeProbeInterval { get; set; } = DefaultUpgradeProbeInterval;

    /// <summary>How long a request (subscribe, publish, history, unsubscribe) waits for its reply. Default 30 s.</summary>
    public TimeSpan RequestTimeout { get; set; } = DefaultRequestTimeout;

    /// <summary>
    /// How many times a publish whose outcome is unknown (the connection dropped before its reply)
    /// or that failed for now (<c>unavailable</c>, <c>timeout</c>, <c>internal</c>, ...: the codes
    /// whose rule is to try again) is sent again, with the same idempotency key, so the server
    /// publishes it at most once. All attempts share one <see cref="RequestTimeout"/>. While this
    /// is above 0, a publish without a key of the application's gets a generated one. Default 3;
    /// 0 turns retries (and generated keys) off.
    /// </summary>
    public int PublishRetries { get; set; } = DefaultPublishRetries;

    /// <summary>
    /// How much longer than the server's heartbeat interval the client tolerates silence on a
    /// WebSocket or SSE connection before it counts it as dead and reconnects. Default 10 s.
    /// </summary>
    public TimeSpan HeartbeatMargin { get; set; } = DefaultHeartbeatMargin;

    /// <summary>How long <see cref="PubSubClient.DisposeAsync"/> waits for a clean close (the WebSocket close handshake). Default 2 s.</summary>
    public TimeSpan CloseTimeout { get; set; } = DefaultCloseTimeout;

    /// <summary>
    /// When and whether to reconnect after a connection is lost. Null never reconnects. Default:
    /// <see cref="ExponentialBackoffReconnectPolicy"/> with its defaults (1 s to 30 s, never gives up).
    /// </summary>
    public IReconnectPolicy? ReconnectPolicy { get; set; } = new ExponentialBackoffReconnectPolicy();

    /// <summary>
    /// How many publish and history requests may wait to be sent (while reconnecting, or faster
    /// than the network takes them); further calls wait for room. Default 1,024.
    /// </summary>
    public int SendQueueCapacity { get; set; } = DefaultSendQueueCapacity;

    /// <summary>
    /// The handler under every HTTP request (negotiate, SSE, long-polling, /send) and, through
    /// <see cref="ClientWebSocket.ConnectAsync(Uri, HttpMessageInvoker?, CancellationToken)"/>,
    /// the WebSocket handshake: for proxies, certificates, or tests. The client does not dispose
    /// it. Default: a <see cref="SocketsHttpHandler"/> of the client's own.
    /// </summary>
    public HttpMessageHandler? HttpMessageHandler { get; set; }

    /// <summary>
    /// Whether the WebSocket offers permessage-deflate (RFC 7692). A server with
    /// <c>PubSub:WebSocketCompression</c> on accepts it and compresses what it sends; one without
    /// it answers uncompressed, so this is safe to turn on either way. The client asks to keep no
    /// compression state between its own messages (client_no_context_takeover), which keeps the
    /// server's side of the connection small; the server chooses for its own messages. Mind the
    /// security note in docs/deployment.md ("Compression") before compressing secrets. Default false.
    /// </summary>
    public bool WebSocketCompression { get; set; }

    /// <summary>Configures each <see cref="ClientWebSocket"/> before it connects (for example a proxy or client certificates). Default: none.</summary>
    public Action<ClientWebSocketOptions>? WebSocketOptions { get; set; }

    /// <summary>
    /// Serializer options for <c>PublishAsync&lt;T&gt;</c> and <see cref="PubSubMessage.Deserialize{T}(JsonSerializerOptions?)"/>.
    /// Default: <see cref="JsonSerializerDefaults.Web"/> (camelCase names).
    /// </summary>
    public JsonSerializerOptions SerializerOptions { get; set; } = new(JsonSerializerDefaults.Web) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Where the client logs. Default: nowhere.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>The clock for every timeout, delay and heartbeat. Default: <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    internal void Validate()
    {
        if (!Enum.IsDefined(Encoding))
        {
            throw new ArgumentOutOfRangeException(nameof(Encoding), Encoding, "Encoding must be Json or MessagePack.");
        }
        if (Transports.Count == 0)
        {
            throw new ArgumentException("Transports must list at least one transport.", nameof(Transports));
        }
        foreach (var transport in Transports)
        {
            if (!Enum.IsDefined(transport))
            {
                throw new ArgumentException($"Transports lists an unknown transport ({(int)transport}).", nameof(Transports));
            }
        }
        if (Transports.Distinct().Count() != Transports.Count)
        {
            throw new ArgumentException($"Transports lists a transport twice: {string.Join(", ", Transports)}.", nameof(Transports));
        }
        RequirePositive(ConnectTimeout, nameof(ConnectTimeout));
        RequirePositive(RequestTimeout, nameof(RequestTimeout));
        RequirePositive(CloseTimeout, nameof(CloseTimeout));
        if (TransportTimeout is { } transportTimeout)
        {
            RequirePositive(transportTimeout, nameof(TransportTimeout));
        }
        if (UpgradeProbeInterval is { } probeInterval)
        {
            RequirePositive(probeInterval, nameof(UpgradeProbeInterval));
        }
        if (RememberFallbackFor < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(RememberFallbackFor), RememberFallbackFor, "RememberFallbackFor must not be negative.");
        }
        if (HeartbeatMargin < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(HeartbeatMargin), HeartbeatMargin, "HeartbeatMargin must not be negative.");
        }
        if (PublishRetries < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(PublishRetries), PublishRetries, "PublishRetries must be 0 (no retries) or more.");
        }
        if (SendQueueCapacity <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(SendQueueCapacity), SendQueueCapacity, "SendQueueCapacity must be at least 1.");
        }
        ArgumentNullException.ThrowIfNull(SerializerOptions, nameof(SerializerOptions));
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
        foreach (var (name, _) in Headers)
        {
            if (string.IsNullOrWhiteSpace(name))
            {
                throw new ArgumentException("Headers has an empty header name.", nameof(Headers));
            }
        }
    }

    private static void RequirePositive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero && value != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive (or Timeout.InfiniteTimeSpan).");
        }
    }
}
