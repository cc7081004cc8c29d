using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Claims;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PubSub.Channels;
using PubSub.Protocol;
using PubSub.Sessions;
using PubSub.Transports;

namespace PubSub;

/// <summary>
/// This process's node: its id, its sessions, its channels, and its broker connection. It starts
/// and stops with the host, and it is the in-process publisher.
/// </summary>
internal sealed partial class PubSubNode : IHostedService, IPubSubPublisher
{
    private readonly ConcurrentDictionary<string, Session> _sessions = new(StringComparer.Ordinal);
    private readonly IServiceProvider _services;
    private readonly IHostApplicationLifetime? _lifetime;
    private readonly ILogger _logger;
    private ITimer? _heartbeat;
    private CancellationTokenRegistration _stopping;

    public PubSubNode(
        IOptions<PubSubOptions> options,
        IBroker broker,
        ChannelRegistry channels,
        ChannelHub hub,
        TimeProvider time,
        IServiceProvider services,
        ILogger<PubSubNode> logger,
        IHostApplicationLifetime? lifetime = null)
    {
        _lifetime = lifetime;
        Options = options.Value;
        NodeId = Options.NodeId ?? Ids.NewNodeId();
        Broker = broker;
        Channels = channels;
        Hub = hub;
        Time = time;
        _services = services;
        _logger = logger;
    }

    public string NodeId { get; }

    public PubSubOptions Options { get; }

    public IBroker Broker { get; }

    public ChannelRegistry Channels { get; }

    public ChannelHub Hub { get; }

    public TimeProvider Time { get; }

    public IServiceProvider Services => _services;

    public int SessionCount => _sessions.Count;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await Broker.StartAsync(NodeId, Hub, cancellationToken);
        var tick = TimeSpan.FromSeconds(1);
        _heartbeat = Time.CreateTimer(static state => ((PubSubNode)state!).OnHeartbeatTick(), this, tick, tick);
        // Long-lived connections would hold up the server's drain until its timeout and then be cut
        // without a word. Telling every client to reconnect the moment shutdown begins lets them
        // go at once, to another node.
        _stopping = _lifetime?.ApplicationStopping.Register(static state => ((PubSubNode)state!).CloseAllSessions(), this) ?? default;
        Log.NodeStarted(_logger, NodeId, Broker.GetType().Name);
        if (Options.Channels.Count == 0)
        {
            // Valid, but almost certainly a configuration that was not found or not bound.
            Log.NoChannelTemplates(_logger);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.DisposeAsync();
        _heartbeat?.Dispose();
        CloseAllSessions();
        await Broker.StopAsync(cancellationToken);
    }

    private void CloseAllSessions()
    {
        foreach (var session in _sessions.Values)
        {
            session.Close(DisconnectReason.Shutdown);
        }
    }

    public Session CreateSession(ClaimsPrincipal user, string transport)
    {
        var session = new Session(
            Ids.NewSessionId(NodeId),
            transport,
            user,
            UserKeyOf(user),
            Options.OutboundBufferLimit,
            Time.GetTimestamp(),
            OnSessionClosed);
        _sessions[session.Id] = session;
        Log.SessionOpened(_logger, session.Id, transport);
        return session;
    }

    public Session? FindSession(string sessionId) => _sessions.GetValueOrDefault(sessionId);

    /// <summary>Why a user without <see cref="UserKeyOf"/> is refused the transports whose sessions span requests.</summary>
    public const string UnboundUserMessage =
        "The user is authenticated but has neither a name identifier claim (ClaimTypes.NameIdentifier) nor a name " +
        "(the identity's NameClaimType, ClaimTypes.Name by default), so a session cannot be bound to it; " +
        "add one of them to the identity, or connect over WebSocket.";

    /// <summary>
    /// The identity a session is bound to, compared with that of every later request for the session
    /// (<c>/send</c>, <c>/poll</c>). For an authenticated user: the first authenticated identity's
    /// authentication type, which claim names the user (the name identifier, else the name) and that
    /// claim's value, so the same id under two schemes, or an id equal to a name, are different users.
    /// Empty for an anonymous user, which no authenticated user matches. Null for an authenticated
    /// user with neither claim, who cannot be told from another user of the same scheme: no session
    /// may be bound to it (see <see cref="UnboundUserMessage"/>).
    /// </summary>
    public static string? UserKeyOf(ClaimsPrincipal user)
    {
        var authenticated = user.Identities.Where(identity => identity.IsAuthenticated).ToList();
        if (authenticated.Count == 0)
        {
            return "";
        }
        foreach (var identity in authenticated)
        {
            if (identity.FindFirst(ClaimTypes.NameIdentifier) is { } id)
            {
                return KeyOf(identity.AuthenticationType!, "id", id.Value);
            }
        }
        foreach (var identity in authenticated)
        {
            if (identity.FindFirst(identity.NameClaimType) is { } name)
            {
                return KeyOf(identity.AuthenticationType!, "name", name.Value);
            }
        }
        return null;

        // The length prefix keeps the parts apart whatever characters they hold.
        static string KeyOf(string authenticationType, string claim, string value) =>
            string.Create(CultureInfo.InvariantCulture, $"{authenticationType.Length}:{authenticationType}:{claim}:{value}");
    }

    public async ValueTask<StreamPosition> PublishAsync(string channel, Payload data, CancellationToken cancellationToken = default)
    {
        var match = Channels.Resolve(channel);
        return await PublishAsync(match, data, cancellationToken);
    }

    /// <summary>Publishes to a resolved channel; the size limit applies to every publisher.</summary>
    public async ValueTask<StreamPosition> PublishAsync(ChannelMatch match, Payload data, CancellationToken cancellationToken)
    {
        if (data.Bytes.Length > Options.MaxMessageSize)
        {
            throw new PubSubException(PubSubErrorCodes.MessageTooLarge, $"The data is larger than {Options.MaxMessageSize} bytes.");
        }
        return await Broker.PublishAsync(match.Channel, data, match.Options.History, cancellationToken);
    }

    public async ValueTask<HistoryPage> GetHistoryAsync(string channel, StreamPosition? since = null, int limit = 100, CancellationToken cancellationToken = default)
    {
        var match = Channels.Resolve(channel);
        return await GetHistoryAsync(match, since, limit, cancellationToken);
    }

    public async ValueTask<HistoryPage> GetHistoryAsync(ChannelMatch match, StreamPosition? since, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        if (since is { } from && !StreamPosition.IsValidOffset(from.Offset))
        {
            throw new PubSubException(PubSubErrorCodes.BadRequest, $"Offset {from.Offset} is outside the protocol's range (0 to 2^53-1).");
        }
        var page = await Broker.ReadHistoryAsync(match.Channel, new HistoryQuery(since?.Offset, limit), cancellationToken);
        if (since is { } position && position.Epoch != page.Latest.Epoch)
        {
            throw new PubSubException(PubSubErrorCodes.EpochMismatch,
                $"Position {position} is from epoch '{position.Epoch}'; the channel is now in epoch '{page.Latest.Epoch}'.");
        }
        return page;
    }

    private void OnSessionClosed(Session session)
    {
        _sessions.TryRemove(new KeyValuePair<string, Session>(session.Id, session));
        Log.SessionClosed(_logger, session.Id, session.CloseReason?.Code ?? 1000);
        // The fan-out may be what closed it (a slow consumer): release elsewhere.
        ThreadPool.UnsafeQueueUserWorkItem(static state => _ = state.node.ReleaseAsync(state.session), (node: this, session), preferLocal: false);
    }

    private async Task ReleaseAsync(Session session)
    {
        foreach (var subscription in session.RemoveAll())
        {
            Hub.Unsubscribe(subscription);
            await RunUnsubscribeHookAsync(subscription);
        }
    }

    public async ValueTask RunUnsubscribeHookAsync(Subscription subscription)
    {
        if (subscription.Match.Options.OnUnsubscribe is not { } hook)
        {
            return;
        }
        var match = subscription.Match;
        try
        {
            await hook(new UnsubscribeContext(match.Channel, match.RouteValues, subscription.Session.User, subscription.Session.Id, _services));
        }
        catch (Exception e)
        {
            Log.HookFailed(_logger, "OnUnsubscribe", match.Channel, e);
        }
    }

    private void OnHeartbeatTick()
    {
        try
        {
            CheckHeartbeats();
        }
        catch (Exception e)
        {
            // A timer callback must never throw: that would end the process.
            Log.HeartbeatFailed(_logger, e);
        }
    }

    /// <summary>
    /// Closes sessions whose client has taken nothing for <see cref="PubSubOptions.WriteTimeout"/>;
    /// pings WebSocket sessions every <see cref="PubSubOptions.PingInterval"/> and closes those that
    /// stay silent for <see cref="PubSubOptions.PongTimeout"/> after a ping. One timer for the whole
    /// node, rather than one per session, keeps idle sessions cheap.
    /// </summary>
    internal void CheckHeartbeats()
    {
        var now = Time.GetTimestamp();
        // Enumerating the dictionary itself takes no lock and copies nothing; .Values would copy
        // every session into a new array each second (160 KB, a large-object-heap allocation, at
        // 20,000 sessions) while holding all of the dictionary's locks.
        foreach (var (_, session) in _sessions)
        {
            var waitingOnClient = session.Outbound.WaitingOnClientSince;
            if (waitingOnClient != 0 && Time.GetElapsedTime(waitingOnClient, now) >= Options.WriteTimeout)
            {
                // However little it holds: a client that takes nothing must not keep it for good.
                session.Close(DisconnectReason.SlowConsumer);
                continue;
            }
            if (session.Transport != TransportNames.WebSocket)
            {
                continue;
            }
            var pingSent = session.PingSentTimestamp;
            if (pingSent != 0)
            {
                if (session.LastInboundTimestamp >= pingSent)
                {
                    session.PingSentTimestamp = pingSent = 0;
                }
                else if (Time.GetElapsedTime(pingSent, now) >= Options.PongTimeout)
                {
                    session.Close(DisconnectReason.HeartbeatTimeout);
                    continue;
                }
            }
            if (pingSent == 0 && Time.GetElapsedTime(session.LastPingTimestamp, now) >= Options.PingInterval)
            {
                session.LastPingTimestamp = now;
                session.PingSentTimestamp = now;
                session.Send(ServerFrames.Ping);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "PubSub node {NodeId} started with {Broker}.")]
        public static partial void NodeStarted(ILogger logger, string nodeId, string broker);

        [LoggerMessage(2, LogLevel.Debug, "Session {SessionId} opened on {Transport}.")]
        public static partial void SessionOpened(ILogger logger, string sessionId, string transport);

        [LoggerMessage(3, LogLevel.Debug, "Session {SessionId} closed with code {Code}.")]
        public static partial void SessionClosed(ILogger logger, string sessionId, int code);

        [LoggerMessage(5, LogLevel.Error, "The heartbeat check failed.")]
        public static partial void HeartbeatFailed(ILogger logger, Exception exception);

        [LoggerMessage(6, LogLevel.Warning, "No channel template is configured, so every channel is refused with unknown_channel. Add templates with o.Channel(...) in AddPubSub, or in configuration (the Host binds PubSub:Channels from its appsettings.json and environment variables).")]
        public static partial void NoChannelTemplates(ILogger logger);

        [LoggerMessage(4, LogLevel.Error, "The {Hook} hook of channel '{Channel}' failed.")]
        public static partial void HookFailed(ILogger logger, string hook, string channel, Exception exception);
    }
}
