namespace PubSub;

/// <summary>
/// Settings of a PubSub node. Bind them from configuration (section <c>PubSub</c> in the Host) or
/// set them in <c>AddPubSub(o =&gt; ...)</c>; they are validated when the application starts.
/// </summary>
public sealed class PubSubOptions
{
    /// <summary>The default <see cref="PingInterval"/>: 25 s.</summary>
    public static readonly TimeSpan DefaultPingInterval = TimeSpan.FromSeconds(25);

    /// <summary>The default <see cref="PongTimeout"/>: 10 s.</summary>
    public static readonly TimeSpan DefaultPongTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The default <see cref="PollTimeout"/>: 25 s.</summary>
    public static readonly TimeSpan DefaultPollTimeout = TimeSpan.FromSeconds(25);

    /// <summary>The default <see cref="PollGracePeriod"/>: 20 s.</summary>
    public static readonly TimeSpan DefaultPollGracePeriod = TimeSpan.FromSeconds(20);

    /// <summary>The default <see cref="RequestBodyTimeout"/>: 10 s.</summary>
    public static readonly TimeSpan DefaultRequestBodyTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The default <see cref="MaxMessageSize"/>: 65,536 bytes.</summary>
    public const int DefaultMaxMessageSize = 64 * 1024;

    /// <summary>The default <see cref="MaxChannelLength"/>: 255.</summary>
    public const int DefaultMaxChannelLength = 255;

    /// <summary>The default <see cref="MaxSubscriptionsPerSession"/>: 128.</summary>
    public const int DefaultMaxSubscriptionsPerSession = 128;

    /// <summary>The default <see cref="OutboundBufferLimit"/>: 1 MiB.</summary>
    public const int DefaultOutboundBufferLimit = 1024 * 1024;

    /// <summary>The default <see cref="WriteTimeout"/>: 10 s.</summary>
    public static readonly TimeSpan DefaultWriteTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The default <see cref="WriteDelay"/>: none, each write goes at once.</summary>
    public static readonly TimeSpan DefaultWriteDelay = TimeSpan.Zero;

    /// <summary>The longest <see cref="WriteDelay"/>: beyond a second, a window is a stall, not a batch.</summary>
    public static readonly TimeSpan MaxWriteDelay = TimeSpan.FromSeconds(1);

    /// <summary>The default <see cref="NodeRequestTimeout"/>: 5 s.</summary>
    public static readonly TimeSpan DefaultNodeRequestTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// This node's id, which prefixes the ids of the sessions it owns. Letters and digits only.
    /// Default: a random id per process start, which is what you want unless you need stable ids in logs.
    /// </summary>
    public string? NodeId { get; set; }

    /// <summary>
    /// How long a control operation (<see cref="IPubSubControl"/>) waits for another node's answer
    /// before it reports the node as not answering. Default 5 s.
    /// </summary>
    public TimeSpan NodeRequestTimeout { get; set; } = DefaultNodeRequestTimeout;

    /// <summary>How often the server pings a WebSocket session and writes an SSE heartbeat comment. Default 25 s.</summary>
    public TimeSpan PingInterval { get; set; } = DefaultPingInterval;

    /// <summary>How long a WebSocket session may stay silent after a ping before it is closed (code 4002). Default 10 s.</summary>
    public TimeSpan PongTimeout { get; set; } = DefaultPongTimeout;

    /// <summary>The largest WebSocket message, <c>/send</c> body or API body accepted, in bytes. Default 65,536.</summary>
    public int MaxMessageSize { get; set; } = DefaultMaxMessageSize;

    /// <summary>
    /// How long the whole body of a <c>/send</c> or server API request may take to arrive. A body
    /// that misses it gets 408 and the connection is closed, so a client that stalls or trickles
    /// its body cannot hold a request (Kestrel's minimum data rate alone lets 64 KB take about
    /// 270 s). Default 10 s.
    /// </summary>
    public TimeSpan RequestBodyTimeout { get; set; } = DefaultRequestBodyTimeout;

    /// <summary>The longest channel name accepted. Default 255.</summary>
    public int MaxChannelLength { get; set; } = DefaultMaxChannelLength;

    /// <summary>How many channels one session may subscribe to. Default 128.</summary>
    public int MaxSubscriptionsPerSession { get; set; } = DefaultMaxSubscriptionsPerSession;

    /// <summary>
    /// How many bytes one session may hold for its client: frames waiting, and frames on their way
    /// that the client has not taken yet. A session whose client falls further behind is
    /// disconnected with code 4001 (reconnect allowed) and recovers from history when it returns,
    /// so it never slows the others; one that is behind only because the node is busy may hold up
    /// to twice as much. At least twice <see cref="MaxMessageSize"/>. Default 1 MiB.
    /// </summary>
    public int OutboundBufferLimit { get; set; } = DefaultOutboundBufferLimit;

    /// <summary>
    /// How long a write to a client (a WebSocket message, an SSE flush) may wait for the client to
    /// take it. A session whose client takes nothing for that long is disconnected as a slow
    /// consumer (code 4001), however little it has waiting, so a connection that never reads
    /// cannot hold the node's memory. At least the pong timeout is wise. Default 10 s.
    /// </summary>
    public TimeSpan WriteTimeout { get; set; } = DefaultWriteTimeout;

    /// <summary>
    /// How long a WebSocket session's writer lets frames gather before it writes them, as one
    /// message (docs/protocol.md, section 2), once its queue has something after being empty.
    /// Zero, the default, writes at once: a frame that arrives alone travels alone. A window trades
    /// latency (up to this much more per frame) for fewer, larger writes, which is what a busy
    /// fan-out pays for (docs/benchmarks.md, table 9). The node's sessions share one tick, so a
    /// frame waits between zero and this long. WebSocket only: SSE and long-polling write as they
    /// do without it. From 0 to <see cref="MaxWriteDelay"/>.
    /// </summary>
    public TimeSpan WriteDelay { get; set; } = DefaultWriteDelay;

    /// <summary>
    /// Whether a WebSocket client that offers permessage-deflate (RFC 7692) gets it. Clients that
    /// do not offer it are served uncompressed either way. The server keeps no compression state
    /// between the messages it sends (server_no_context_takeover), so an idle connection holds no
    /// compressor; a message over <see cref="MaxMessageSize"/> once inflated ends the session with
    /// close code 1009 instead of being inflated to its end. Compressing attacker-chosen data next
    /// to secrets in one context invites CRIME/BREACH-style attacks (docs/deployment.md, "Compression").
    /// Default false.
    /// </summary>
    public bool WebSocketCompression { get; set; }

    /// <summary>The transports this node offers. Default: all.</summary>
    public PubSubTransports Transports { get; set; } = PubSubTransports.All;

    /// <summary>How long a long-poll is held when nothing is waiting. Default 25 s.</summary>
    public TimeSpan PollTimeout { get; set; } = DefaultPollTimeout;

    /// <summary>How long a long-polling session may go without a poll before it is closed. Default 20 s.</summary>
    public TimeSpan PollGracePeriod { get; set; } = DefaultPollGracePeriod;

    /// <summary>
    /// Origins other than the server's own that browsers may connect from (for example
    /// <c>https://app.example.com</c>); <c>*</c> allows any. Applies to WebSocket upgrades and to
    /// the HTTP transports (CORS). Listed origins may send cookies (CORS with credentials); origins
    /// allowed only by <c>*</c> may not, and <c>*</c> fails validation when the application uses
    /// cookie authentication, because browsers send cookies on WebSocket upgrades from any site.
    /// </summary>
    public IList<string> AllowedOrigins { get; } = [];

    /// <summary>
    /// The key that callers of the server API must send in the <c>X-API-Key</c> header. When unset,
    /// the API serves only callers that pass an authorization policy the application puts on it.
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// Runs before every session opens (see <see cref="ConnectContext"/>): refuse the client,
    /// attach connection information, subscribe it to channels from the server. A hook that throws
    /// refuses the client with <c>internal</c> (HTTP 500) and is logged.
    /// </summary>
    public Func<ConnectContext, ValueTask>? OnConnect { get; set; }

    /// <summary>Runs once for every session that opened, after it ended, with the reason (see <see cref="DisconnectContext"/>). Its failure is only logged.</summary>
    public Func<DisconnectContext, ValueTask>? OnDisconnect { get; set; }

    /// <summary>How the node leaves when its host stops: at once by default, or drained over time.</summary>
    public PubSubDrain Drain { get; } = new();

    /// <summary>What one client, address or channel may take of this node; none by default.</summary>
    public PubSubLimits Limits { get; } = new();

    /// <summary>The channel templates. A channel whose name matches none is rejected.</summary>
    public IList<ChannelOptions> Channels { get; } = [];

    /// <summary>Adds a channel template, such as <c>chat/{room}</c>, and configures it.</summary>
    public PubSubOptions Channel(string template, Action<ChannelBuilder>? configure = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(template);
        var channel = new ChannelOptions { Template = template };
        configure?.Invoke(new ChannelBuilder(channel));
        Channels.Add(channel);
        return this;
    }
}
