using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PubSub.Node;
using PubSub.Channels;
using PubSub.Http;
using PubSub.Protocol;
using PubSub.Sessions;

namespace PubSub.Transports;

/// <summary>
/// Opens an SSE or long-polling session from its first request: the <c>channel</c> parameters and
/// the resume cursor (the <c>Last-Event-ID</c> header or the <c>lastEventId</c> parameter) become
/// subscriptions. Every channel is checked before anything is sent, so a refused channel fails the
/// request with an HTTP error (a native EventSource then stops instead of retrying forever).
/// </summary>
internal sealed partial class SessionBootstrap(SessionRegistry sessions, SessionAdmission admission, NodeIdentity identity, IOptions<PubSubOptions> options, TimeProvider time, SessionFrameHandler frames, ILogger<SessionBootstrap> logger)
{
    public const string CursorParameter = "lastEventId";
    public const string CursorHeader = "Last-Event-ID";
    public const string EncodingParameter = "encoding";

    /// <summary>
    /// Creates the session and queues <c>connected</c>; returns null after writing the error
    /// response when the request is refused. Call <see cref="StartSubscriptions"/> once the
    /// transport writes frames.
    /// </summary>
    public async Task<(Session Session, IReadOnlyList<(ChannelMatch Match, StreamPosition? Since)> Channels)?> OpenAsync(HttpContext context, string transport, int pingSeconds, bool textOnly)
    {
        if (!TryReadEncoding(context, out var named, out var encodingProblem))
        {
            await HttpErrors.WriteAsync(context, PubSubErrorCodes.BadRequest, encodingProblem);
            return null;
        }
        var encoding = named ?? FrameEncoding.Json;
        if (textOnly && encoding.MessageType != System.Net.WebSockets.WebSocketMessageType.Text)
        {
            await HttpErrors.WriteAsync(context, PubSubErrorCodes.BadRequest,
                $"'{transport}' carries text only, so its frames are JSON: leave out 'encoding' (or say 'json'), or use long-polling or WebSocket for '{encoding.Name}'.");
            return null;
        }
        // The session lives across requests (/send, /poll), each checked against its identity.
        if (await SessionEndpoints.UserKeyOrRefuseAsync(context) is null)
        {
            return null;
        }
        if (!TryReadChannels(context, out var requested, out var problem))
        {
            await HttpErrors.WriteAsync(context, PubSubErrorCodes.BadRequest, problem);
            return null;
        }

        if (await admission.AdmitAsync(context, transport) is not { } ticket)
        {
            return null;
        }
        var session = sessions.Create(context.User, transport, encoding, ticket);
        var channels = new List<(ChannelMatch, StreamPosition?)>(requested.Count);
        try
        {
            foreach (var (channel, since) in requested)
            {
                var match = frames.Resolve(channel);
                await frames.AuthorizeReadAsync(session, match);
                channels.Add((match, since));
            }
            // Those the connect hook subscribes the session to, unless the client asked for them too.
            channels.AddRange(ServerChannels(ticket, channels.Select(c => c.Item1.Channel)));
        }
        catch (Exception e)
        {
            // Whatever failed, the session must not outlive the request that was to open it.
            session.Abandon();
            if (e is not PubSubException error)
            {
                throw;
            }
            // A hook that threw arrives here as 'internal', already logged with its channel.
            await HttpErrors.WriteAsync(context, error);
            return null;
        }

        session.Send(encoding.Connected(session.Id, identity.Id, transport, pingSeconds));
        sessions.CloseIfClosingAll(session);
        return (session, channels);
    }

    /// <summary>The channels the connect hook subscribed the session to, less those in <paramref name="requested"/>: subscribed fresh.</summary>
    public static IEnumerable<(ChannelMatch Match, StreamPosition? Since)> ServerChannels(SessionTicket ticket, IEnumerable<string> requested)
    {
        var asked = requested.ToHashSet(StringComparer.Ordinal);
        return ticket.Connect.Channels.Where(match => !asked.Contains(match.Channel)).Select(match => (match, (StreamPosition?)null));
    }

    /// <summary>
    /// Subscribes the checked channels in the background, all at once, each announced by a
    /// <c>subscribed</c> frame. The first attempts hold the session's inbound lock, so frames the
    /// client sends meanwhile are handled after them. A channel that fails for a reason that may
    /// pass (the broker is unreachable or slow) is tried again until it works or the session ends,
    /// keeping its place in the resume cursor meanwhile; one refused for good gets an
    /// <c>unsubscribed</c> frame, which takes it out of the cursor.
    /// </summary>
    public void StartSubscriptions(Session session, IReadOnlyList<(ChannelMatch Match, StreamPosition? Since)> channels)
    {
        if (channels.Count == 0)
        {
            return;
        }
        _ = SubscribeAllAsync(session, channels);
    }

    private async Task SubscribeAllAsync(Session session, IReadOnlyList<(ChannelMatch Match, StreamPosition? Since)> channels)
    {
        bool[] settled;
        try
        {
            await session.InboundLock.WaitAsync(session.Closed);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        try
        {
            // Concurrently: with a slow broker, one after another would keep the last channel
            // waiting for every other channel's timeout.
            settled = await Task.WhenAll(channels.Select(channel => TrySubscribeAsync(session, channel.Match, channel.Since)));
        }
        finally
        {
            session.InboundLock.Release();
        }
        for (var i = 0; i < channels.Count; i++)
        {
            if (!settled[i])
            {
                _ = RetryAsync(session, channels[i].Match, channels[i].Since);
            }
        }
    }

    /// <summary>Tries again after <see cref="RetryDelays"/>, one frame-handling turn of the session at a time.</summary>
    private async Task RetryAsync(Session session, ChannelMatch match, StreamPosition? since)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await Task.Delay(RetryDelays[Math.Min(attempt, RetryDelays.Length - 1)], time, session.Closed);
                await session.InboundLock.WaitAsync(session.Closed);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            try
            {
                if (await TrySubscribeAsync(session, match, since))
                {
                    return;
                }
            }
            finally
            {
                session.InboundLock.Release();
            }
        }
    }

    /// <summary>
    /// How long to wait before each new attempt at a subscription that failed for a transient
    /// reason: soon at first (a broker blip), then every 15 s at most, so that a long outage
    /// costs each waiting session one attempt per interval.
    /// </summary>
    internal static readonly TimeSpan[] RetryDelays = [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(15)];

    /// <summary>One attempt. False when it failed for a transient reason and should be made again.</summary>
    private async Task<bool> TrySubscribeAsync(Session session, ChannelMatch match, StreamPosition? since)
    {
        try
        {
            await frames.SubscribeAuthorizedAsync(session, match, since,
                outcome => session.Encoding.Subscribed(match.Channel, outcome.Latest, outcome.Recovered), session.Closed);
            return true;
        }
        catch (PubSubException e) when (PubSubErrorCodes.IsTransient(e.Code))
        {
            Log.SubscribeDeferred(logger, session.Id, match.Channel, e.Code);
            return session.IsClosed;
        }
        catch (PubSubException e) when (e.Code == PubSubErrorCodes.AlreadySubscribed)
        {
            // The client subscribed to it itself meanwhile: its own reply settles the channel.
            return true;
        }
        catch (PubSubException e)
        {
            session.SendUnsubscribed(match.Channel, e.Code, e.Message);
            return true;
        }
        catch (OperationCanceledException)
        {
            return true;
        }
        catch (Exception e)
        {
            // A fault, not a refusal: made again like any transient failure ('internal').
            Log.SubscribeFailed(logger, session.Id, match.Channel, e);
            return session.IsClosed;
        }
    }

    /// <summary>
    /// The encoding the request's <c>encoding</c> parameter names (docs/protocol.md, section 6.3):
    /// null when it names none; false, with the problem, when it names one the server does not know.
    /// </summary>
    public static bool TryReadEncoding(HttpContext context, out FrameEncoding? encoding, out string problem)
    {
        encoding = null;
        problem = "";
        var values = context.Request.Query[EncodingParameter];
        if (values.Count == 0)
        {
            return true;
        }
        encoding = values.Count == 1 && values[0] is { } name ? FrameEncoding.Named(name) : null;
        if (encoding is null)
        {
            problem = $"'{EncodingParameter}' must be one of {string.Join(", ", FrameEncoding.All.Select(e => $"'{e.Name}'"))}, once.";
            return false;
        }
        return true;
    }

    private bool TryReadChannels(HttpContext context, out List<(string Channel, StreamPosition? Since)> channels, out string problem)
    {
        channels = [];
        var cursor = context.Request.Headers[CursorHeader].ToString();
        if (cursor.Length == 0)
        {
            cursor = context.Request.Query[CursorParameter].ToString();
        }
        var limit = options.Value.MaxSubscriptionsPerSession;
        if (cursor.Length > 0)
        {
            if (!ResumeCursor.TryParse(cursor, limit, out var entries, out problem))
            {
                return false;
            }
            channels.AddRange(entries.Select(e => (e.Channel, (StreamPosition?)e.Position)));
        }
        foreach (var channel in context.Request.Query["channel"])
        {
            if (channel is not null && !channels.Exists(c => c.Channel == channel))
            {
                channels.Add((channel, null));
            }
        }
        if (channels.Count > limit)
        {
            problem = $"A session may hold at most {limit} subscriptions.";
            return false;
        }
        problem = "";
        return true;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "Subscribing session {SessionId} to '{Channel}' failed for now ({Code}); trying again.")]
        public static partial void SubscribeDeferred(ILogger logger, string sessionId, string channel, string code);

        [LoggerMessage(3, LogLevel.Error, "Subscribing session {SessionId} to '{Channel}' failed unexpectedly; trying again.")]
        public static partial void SubscribeFailed(ILogger logger, string sessionId, string channel, Exception exception);
    }
}
