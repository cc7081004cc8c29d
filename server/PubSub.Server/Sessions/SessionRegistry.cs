using System.Collections.Concurrent;
using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PubSub.Channels;
using PubSub.Diagnostics;
using PubSub.Node;
using PubSub.Protocol;
using PubSub.Limits;
using PubSub.Transports;

namespace PubSub.Sessions;

/// <summary>
/// The sessions this node owns: created here, found by id, and released here when they close
/// (their subscriptions leave the channels, and the unsubscribe hooks run).
/// </summary>
internal sealed partial class SessionRegistry(
    NodeIdentity identity,
    IOptions<PubSubOptions> options,
    TimeProvider time,
    ChannelHub hub,
    HookRunner hooks,
    PubSubMetrics metrics,
    ILogger<SessionRegistry> logger)
{
    private readonly ConcurrentDictionary<string, Session> _sessions = new(StringComparer.Ordinal);
    private Action<Session>? _onClosed;
    // Set once the node tells its clients to go (CloseAll), for the sessions that open after it.
    private DisconnectReason? _closedAll;

    public int Count => _sessions.Count;

    /// <summary>
    /// Every open session, for the heartbeat's walk. Enumerating the dictionary itself takes no
    /// lock and copies nothing; its Values would copy every session into a new array each time
    /// (160 KB, a large-object-heap allocation, at 20,000 sessions) under all its locks.
    /// </summary>
    public IEnumerable<Session> All
    {
        get
        {
            foreach (var (_, session) in _sessions)
            {
                yield return session;
            }
        }
    }

    /// <summary>
    /// A new session bound to <paramref name="user"/> (see <see cref="UserKey"/>), holding the
    /// place admission gave it (<see cref="SessionTicket"/>) until it closes. When its credentials
    /// expire, the session is closed with 4004, so the client comes back with new ones.
    /// </summary>
    public Session Create(ClaimsPrincipal user, string transport, FrameEncoding encoding, SessionTicket ticket)
    {
        var session = new Session(
            Ids.NewSessionId(identity.Id),
            transport,
            encoding,
            user,
            UserKey.Of(user),
            options.Value.OutboundBufferLimit,
            time.GetTimestamp(),
            // One delegate for all sessions: a method group would make one per session, held as long as it lives.
            _onClosed ??= OnClosed)
        {
            ConnectionInfo = ticket.Connect.ConnectionInfo,
        };
        _sessions[session.Id] = session;
        if (ticket.Lease != ConnectionLease.None)
        {
            // Only a session that holds a place has one to give back: no registration on an idle connection otherwise.
            session.Closed.UnsafeRegister(static state => ((ConnectionLease)state!).Dispose(), ticket.Lease);
        }
        if (ticket.CredentialsExpire is { } expires)
        {
            CloseWhenExpired(session, expires);
        }
        metrics.SessionOpened(transport, encoding);
        Log.SessionOpened(logger, session.Id, transport);
        return session;
    }

    private void CloseWhenExpired(Session session, DateTimeOffset expires)
    {
        var due = expires - time.GetUtcNow();
        var timer = time.CreateTimer(static state => ((Session)state!).Close(DisconnectReason.TokenExpired),
            session, due > TimeSpan.Zero ? due : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
        session.Closed.UnsafeRegister(static state => ((ITimer)state!).Dispose(), timer);
    }

    public Session? Find(string sessionId) => _sessions.GetValueOrDefault(sessionId);

    /// <summary>Tells every client to go (<paramref name="reason"/>), as the node stops.</summary>
    public void CloseAll(DisconnectReason reason)
    {
        // A full fence before the walk: a session added after it sees the reason (CloseIfClosingAll).
        Interlocked.Exchange(ref _closedAll, reason);
        foreach (var session in All)
        {
            session.Close(reason);
        }
    }

    /// <summary>
    /// For a transport, once its new session has sent <c>connected</c>: a session whose admission
    /// came just before <see cref="CloseAll"/> and opened after it is told to go the same way, so
    /// the node's stop does not wait on it.
    /// </summary>
    public void CloseIfClosingAll(Session session)
    {
        // Pairs with CloseAll's exchange: this session's add to the registry is ordered before the read.
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _closedAll) is { } reason)
        {
            session.Close(reason);
        }
    }

    private void OnClosed(Session session)
    {
        _sessions.TryRemove(new KeyValuePair<string, Session>(session.Id, session));
        metrics.SessionClosed(session.Transport, session.Encoding, session.CloseReason);
        Log.SessionClosed(logger, session.Id, session.CloseReason?.Code ?? 1000);
        // The fan-out may be what closed it (a slow consumer): release elsewhere.
        ThreadPool.UnsafeQueueUserWorkItem(static state => _ = state.registry.ReleaseAsync(state.session), (registry: this, session), preferLocal: false);
    }

    private async Task ReleaseAsync(Session session)
    {
        foreach (var subscription in session.RemoveAll())
        {
            hub.Unsubscribe(subscription);
            await hooks.NotifyUnsubscribeAsync(subscription);
        }
        await hooks.NotifyDisconnectAsync(session);
    }

    private static partial class Log
    {
        [LoggerMessage(2, LogLevel.Debug, "Session {SessionId} opened on {Transport}.")]
        public static partial void SessionOpened(ILogger logger, string sessionId, string transport);

        [LoggerMessage(3, LogLevel.Debug, "Session {SessionId} closed with code {Code}.")]
        public static partial void SessionClosed(ILogger logger, string sessionId, int code);
    }
}
