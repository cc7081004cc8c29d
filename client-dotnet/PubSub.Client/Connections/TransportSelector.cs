using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using PubSub.Client.Protocol;
using PubSub.Client.Transports;

namespace PubSub.Client.Connections;

/// <summary>
/// Which transport to open, and opening it: negotiates (timed, so the round trip sizes each
/// attempt's timeout), tries the allowed transports the server offers in order, remembers the one
/// a fall back found, and opens the WebSocket of an upgrade probe. Only the supervisor's task
/// calls it, one call at a time.
/// </summary>
internal sealed partial class TransportSelector
{
    /// <summary>The most a derived transport timeout may be below: a loaded machine (JIT-cold client or server) needs a moment to accept a WebSocket, and a false fallback costs more than the wait.</summary>
    internal static readonly TimeSpan MinTransportTimeout = TimeSpan.FromSeconds(2);

    private readonly Uri _uri;
    private readonly PubSubClientOptions _options;
    private readonly HttpClient _http;
    private readonly IReadOnlyDictionary<string, string> _headers;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly RequestTracker _requests;

    /// <summary>The transport this client last fell back to, and when it first did; reconnects start with it for <see cref="PubSubClientOptions.RememberFallbackFor"/>.</summary>
    private (PubSubTransport Kind, long Since)? _fellBackTo;

    /// <summary>What the last negotiate found: the context transports open with, and the round trip.</summary>
    private (TransportContext Context, TimeSpan RoundTrip, IReadOnlyList<string> Offered)? _negotiated;

    /// <summary>Whether the last negotiate fell back from MessagePack to JSON (logged when it starts).</summary>
    private bool _encodingFellBack;

    public TransportSelector(Uri uri, PubSubClientOptions options, HttpClient http, ILoggerFactory loggerFactory, ILogger logger, RequestTracker requests)
    {
        _uri = uri;
        _options = options;
        _http = http;
        _headers = new Dictionary<string, string>(options.Headers, StringComparer.OrdinalIgnoreCase);
        _time = options.TimeProvider;
        _loggerFactory = loggerFactory;
        _logger = logger;
        _requests = requests;
    }

    /// <summary>
    /// Negotiates, then tries each transport in order (a remembered fall back first); returns the
    /// first connection that delivered <c>connected</c>. A failure that retrying cannot change is
    /// <see cref="PubSubException.IsTerminal"/>.
    /// </summary>
    public async Task<Connection> ConnectAsync(IConnectionListener listener, Action<Task> track, CancellationToken cancellationToken)
    {
        var context = await ContextAsync(cancellationToken);
        var (info, roundTrip) = await NegotiateAsync(context, cancellationToken);
        _requests.MaxMessageSize = info.MaxMessageSize > 0 ? info.MaxMessageSize : RequestTracker.DefaultMaxMessageSize;
        var codec = FrameCodec.For(NegotiatedEncoding(info));
        _requests.Codec = codec;
        context = context with { PollTimeout = TimeSpan.FromSeconds(info.PollTimeout > 0 ? info.PollTimeout : 25), Codec = codec };
        var offered = info.Transports ?? [];
        _negotiated = (context, roundTrip, offered);

        var order = _options.Transports.Where(t => offered.Contains(TransportNames.Of(t))).ToList();
        if (order.Count == 0)
        {
            throw new PubSubException(PubSubErrorCodes.NoTransport,
                $"The server offers {(offered.Count == 0 ? "no transports" : string.Join(", ", offered))}; this client allows {string.Join(", ", _options.Transports.Select(TransportNames.Of))}.")
            {
                // A configuration mismatch that retrying will not change.
                IsTerminal = true,
            };
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
            try
            {
                var connection = await OpenAsync(kind, context, roundTrip, listener, track, probe: false, cancellationToken);
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
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                if (e is PubSubException { IsTerminal: true })
                {
                    // The server refused this client for good; no other transport changes that.
                    throw;
                }
                Log.TransportFailed(_logger, TransportNames.Of(kind), e.Message);
                failures.Add($"{TransportNames.Of(kind)}: {e.Message}");
            }
        }
        throw new PubSubException(PubSubErrorCodes.TransportFailed, $"No transport connected to {_uri}. {string.Join(" ", failures)}");
    }

    /// <summary>
    /// Whether an upgrade probe may try WebSocket while <paramref name="current"/> is in use: the
    /// application allows WebSocket and the server offered it at the last negotiate.
    /// </summary>
    public bool CanUpgradeFrom(PubSubTransport current) =>
        current != PubSubTransport.WebSocket
        && _options.Transports.Contains(PubSubTransport.WebSocket)
        && _negotiated is { } negotiated && negotiated.Offered.Contains(TransportNames.WebSocket);

    /// <summary>
    /// Opens a WebSocket session beside the one in use, with the last negotiate's settings and a
    /// fresh access token (a long-lived connection's may have expired); null when it fails.
    /// </summary>
    public async Task<Connection?> ProbeAsync(IConnectionListener listener, Action<Task> track, CancellationToken cancellationToken)
    {
        if (_negotiated is not { } negotiated)
        {
            return null;
        }
        try
        {
            var context = negotiated.Context with { AccessToken = (await ContextAsync(cancellationToken)).AccessToken };
            return await OpenAsync(PubSubTransport.WebSocket, context, negotiated.RoundTrip, listener, track, probe: true, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log.ProbeFailed(_logger, e.Message);
            return null;
        }
    }

    /// <summary>
    /// The encoding asked for when the server offers it, else JSON, with a warning when that
    /// starts (an older server, or a node of one in a mixed deployment).
    /// </summary>
    private PubSubEncoding NegotiatedEncoding(NegotiateResponse info)
    {
        var offered = info.Encodings ?? ["json"];
        var wanted = _options.Encoding;
        var fellBack = wanted == PubSubEncoding.MessagePack && !offered.Contains("msgpack");
        if (fellBack && !_encodingFellBack)
        {
            Log.EncodingNotOffered(_logger, _uri, string.Join(", ", offered));
        }
        _encodingFellBack = fellBack;
        return fellBack ? PubSubEncoding.Json : wanted;
    }

    /// <summary>The probe moved the client to WebSocket: the preferred transport works again.</summary>
    public void Upgraded() => _fellBackTo = null;

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

    private async Task<Connection> OpenAsync(PubSubTransport kind, TransportContext context, TimeSpan roundTrip, IConnectionListener listener, Action<Task> track, bool probe, CancellationToken cancellationToken)
    {
        ITransport transport = kind switch
        {
            PubSubTransport.WebSocket => new WebSocketTransport(context),
            PubSubTransport.ServerSentEvents => new ServerSentEventsTransport(context),
            PubSubTransport.LongPolling => new LongPollingTransport(context),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
        };
        var connection = new Connection(transport, listener, new ConnectionSettings(_options.HeartbeatMargin, _requests.MaxMessageSize, _time), _logger, track) { IsProbe = probe };
        try
        {
            await connection.OpenAsync(AttemptTimeout(kind, roundTrip), cancellationToken);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
        Log.Connected(_logger, TransportNames.Of(kind), connection.SessionId!, connection.Info!.Node ?? "?");
        return connection;
    }

    private async Task<TransportContext> ContextAsync(CancellationToken cancellationToken)
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
        return new TransportContext
        {
            BaseUri = _uri,
            Http = _http,
            Handler = _options.HttpMessageHandler,
            Headers = _headers,
            AccessToken = accessToken,
            Time = _time,
            LoggerFactory = _loggerFactory,
            RequestTimeout = _options.RequestTimeout,
            ConfigureWebSocket = _options.WebSocketOptions,
            WebSocketCompression = _options.WebSocketCompression,
        };
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
                throw new PubSubException(PubSubErrorCodes.BadFrame,
                    $"The server at {_uri} speaks protocol version {info?.Version.ToString(CultureInfo.InvariantCulture) ?? "?"}; this client speaks version 1.")
                {
                    IsTerminal = true,
                };
            }
            Log.Negotiated(_logger, info.Node ?? "?", string.Join(",", info.Transports ?? []), roundTrip.TotalMilliseconds);
            return (info, roundTrip);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "Negotiated with node {Node}: transports {Transports}, round trip {RoundTripMs} ms")]
        public static partial void Negotiated(ILogger logger, string node, string transports, double roundTripMs);

        [LoggerMessage(2, LogLevel.Information, "Connected over {Transport}: session {SessionId} on node {Node}")]
        public static partial void Connected(ILogger logger, string transport, string sessionId, string node);

        [LoggerMessage(3, LogLevel.Information, "The {Transport} transport failed; trying the next one: {Reason}")]
        public static partial void TransportFailed(ILogger logger, string transport, string reason);

        [LoggerMessage(15, LogLevel.Warning, "The server at {Uri} does not offer the MessagePack encoding (it offers {Encodings}); the client uses JSON")]
        public static partial void EncodingNotOffered(ILogger logger, Uri uri, string encodings);

        [LoggerMessage(31, LogLevel.Debug, "The upgrade probe could not open a WebSocket: {Reason}")]
        public static partial void ProbeFailed(ILogger logger, string reason);
    }
}
