using Microsoft.Extensions.Logging;
using PubSub.Channels;
using PubSub.Protocol;
using PubSub.Sessions;

namespace PubSub.Control;

/// <summary>
/// The control operations on this node's own sessions, whichever node asked
/// (<see cref="NodeRequests"/>). Each operation on a session runs in the session's frame-handling
/// turn (its inbound lock), so it never interleaves with a client's own subscribe or unsubscribe,
/// nor with the subscriptions an SSE or long-polling session is still making from its URL.
/// </summary>
internal sealed partial class NodeControl(
    SessionRegistry sessions,
    ChannelRegistry channels,
    ChannelHub hub,
    HookRunner hooks,
    SessionFrameHandler frames,
    TimeProvider time,
    ILogger<NodeControl> logger)
{
    private readonly long _started = time.GetTimestamp();

    public async Task<ControlAnswer> HandleAsync(ControlRequest request)
    {
        try
        {
            return request.Operation switch
            {
                ControlOperation.Disconnect => Disconnect(request),
                ControlOperation.Unsubscribe => await UnsubscribeAsync(request),
                ControlOperation.Subscribe => await SubscribeAsync(request),
                ControlOperation.Channels => Channels(request),
                ControlOperation.Info => Info(),
                _ => new ControlAnswer { Error = $"Unknown operation {request.Operation}." },
            };
        }
        catch (Exception e)
        {
            Log.OperationFailed(logger, request.Operation, e);
            return new ControlAnswer { Error = e.Message };
        }
    }

    /// <summary>The sessions of this node the request targets: one by id, or every session of a user.</summary>
    private List<Session> Targets(ControlRequest request)
    {
        if (request.SessionId is { } id)
        {
            return sessions.Find(id) is { IsClosed: false } session ? [session] : [];
        }
        var user = request.UserId;
        return [.. sessions.All.Where(session => !session.IsClosed && user is not null && ChannelAccess.UserIdOf(session.User) == user)];
    }

    private ControlAnswer Disconnect(ControlRequest request)
    {
        var reason = new DisconnectReason(request.Code, request.Reason ?? PubSubDisconnectCodes.DefaultReason);
        var closed = 0;
        foreach (var session in Targets(request))
        {
            if (!session.IsClosed)
            {
                session.Close(reason);
                closed++;
            }
        }
        return new ControlAnswer { Sessions = closed };
    }

    private async Task<ControlAnswer> UnsubscribeAsync(ControlRequest request)
    {
        var channel = request.Channel!;
        var done = await Task.WhenAll(Targets(request).Select(session => InTurnAsync(session, async () =>
        {
            if (session.Remove(channel) is not { } subscription)
            {
                return false;
            }
            hub.Unsubscribe(subscription);
            session.SendUnsubscribed(channel, request.UnsubscribeCode!, request.Reason ?? "");
            await hooks.NotifyUnsubscribeAsync(subscription);
            return true;
        })));
        return new ControlAnswer { Sessions = done.Count(d => d) };
    }

    private async Task<ControlAnswer> SubscribeAsync(ControlRequest request)
    {
        var match = channels.Resolve(request.Channel!);
        var done = await Task.WhenAll(Targets(request).Select(session => InTurnAsync(session, async () =>
        {
            if (session.IsSubscribed(match.Channel))
            {
                return false;
            }
            try
            {
                // Made as the subscriptions of an SSE URL are: announced by 'subscribed', and in the cursor from then on.
                await frames.SubscribeAuthorizedAsync(session, match, since: null,
                    outcome => session.Encoding.Subscribed(match.Channel, outcome.Latest, outcome.Recovered), session.Closed);
                return true;
            }
            catch (PubSubException e) when (e.Code == PubSubErrorCodes.AlreadySubscribed)
            {
                return false;
            }
            catch (PubSubException e)
            {
                // Refused for this session (its subscription limit, the channel's subscriber limit, the broker): it is told so.
                session.SendUnsubscribed(match.Channel, e.Code, e.Message);
                return false;
            }
        })));
        return new ControlAnswer { Sessions = done.Count(d => d) };
    }

    /// <summary>Runs <paramref name="action"/> in the session's frame-handling turn; false when the session closed first.</summary>
    private static async Task<bool> InTurnAsync(Session session, Func<Task<bool>> action)
    {
        try
        {
            await session.InboundLock.WaitAsync(session.Closed);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        try
        {
            return !session.IsClosed && await action();
        }
        catch (OperationCanceledException) when (session.IsClosed)
        {
            return false;
        }
        finally
        {
            session.InboundLock.Release();
        }
    }

    private ControlAnswer Channels(ControlRequest request)
    {
        var pattern = request.Pattern;
        var matching = hub.LocalChannels
            .Where(c => c.Subscribers > 0 && (pattern is null || Glob.IsMatch(pattern, c.Channel)))
            .Select(c => new ChannelCount(c.Channel, c.Subscribers))
            .OrderBy(c => c.Channel, StringComparer.Ordinal)
            .Take(request.Limit + 1)
            .ToList();
        var truncated = matching.Count > request.Limit;
        if (truncated)
        {
            matching.RemoveAt(matching.Count - 1);
        }
        return new ControlAnswer { Channels = matching, Truncated = truncated };
    }

    private ControlAnswer Info()
    {
        var byTransport = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var session in sessions.All)
        {
            byTransport[session.Transport] = byTransport.GetValueOrDefault(session.Transport) + 1;
        }
        return new ControlAnswer
        {
            SessionsByTransport = byTransport,
            UptimeSeconds = time.GetElapsedTime(_started).TotalSeconds,
            ChannelCount = hub.LocalChannelCount,
        };
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Error, "The control operation {Operation} failed on this node.")]
        public static partial void OperationFailed(ILogger logger, ControlOperation operation, Exception exception);
    }
}
