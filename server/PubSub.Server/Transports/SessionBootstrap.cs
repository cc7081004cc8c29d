using Microsoft.AspNetCore.Http;
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
internal sealed class SessionBootstrap(PubSubNode node, SessionFrameHandler frames)
{
    public const string CursorParameter = "lastEventId";
    public const string CursorHeader = "Last-Event-ID";

    /// <summary>
    /// Creates the session and queues <c>connected</c>; returns null after writing the error
    /// response when the request is refused. Call <see cref="StartSubscriptions"/> once the
    /// transport writes frames.
    /// </summary>
    public async Task<(Session Session, IReadOnlyList<(ChannelMatch Match, StreamPosition? Since)> Channels)?> OpenAsync(HttpContext context, string transport, int pingSeconds)
    {
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

        var session = node.CreateSession(context.User, transport);
        var channels = new List<(ChannelMatch, StreamPosition?)>(requested.Count);
        try
        {
            foreach (var (channel, since) in requested)
            {
                var match = frames.Resolve(channel);
                await frames.AuthorizeReadAsync(session, match);
                channels.Add((match, since));
            }
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

        session.Send(ServerFrames.Connected(session.Id, node.NodeId, transport, pingSeconds));
        return (session, channels);
    }

    /// <summary>
    /// Subscribes the checked channels in the background, each announced by a <c>subscribed</c>
    /// frame (or an <c>unsubscribed</c> one if it fails after all). It holds the session's inbound
    /// lock, so frames the client sends meanwhile are handled after it.
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
            foreach (var (match, since) in channels)
            {
                try
                {
                    await frames.SubscribeAuthorizedAsync(session, match, since,
                        outcome => ServerFrames.Subscribed(match.Channel, outcome.Latest, outcome.Recovered), session.Closed);
                }
                catch (PubSubException e)
                {
                    session.Send(ServerFrames.Unsubscribed(match.Channel, e.Code, e.Message));
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
        finally
        {
            session.InboundLock.Release();
        }
    }

    private bool TryReadChannels(HttpContext context, out List<(string Channel, StreamPosition? Since)> channels, out string problem)
    {
        channels = [];
        var cursor = context.Request.Headers[CursorHeader].ToString();
        if (cursor.Length == 0)
        {
            cursor = context.Request.Query[CursorParameter].ToString();
        }
        var limit = node.Options.MaxSubscriptionsPerSession;
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
}
