using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PubSub.Channels;
using PubSub.Diagnostics;
using PubSub.Limits;
using PubSub.Protocol;

namespace PubSub.Sessions;

/// <summary>
/// What each client frame does (docs/protocol.md, section 2.2), whichever transport carried it.
/// Bad input never throws out of here: the client gets an <c>error</c> frame or an error reply,
/// and the session goes on.
/// </summary>
internal sealed partial class SessionFrameHandler(
    ChannelRegistry channels,
    ChannelHub hub,
    ChannelPublisher publisher,
    HookRunner hooks,
    PublishLimiter publishLimits,
    PubSubMetrics metrics,
    IAuthorizationService authorization,
    IOptions<PubSubOptions> options,
    TimeProvider time,
    ILogger<SessionFrameHandler> logger)
{
    /// <summary>
    /// Handles a batch of frames in order; batches of one session never overlap. The batch is in
    /// <paramref name="encoding"/> (a <c>/send</c> body names its own); what the session is sent
    /// back is in the session's.
    /// </summary>
    public async Task HandleBatchAsync(Session session, FrameEncoding encoding, ReadOnlyMemory<byte> batch, CancellationToken cancellationToken)
    {
        await session.InboundLock.WaitAsync(cancellationToken);
        try
        {
            session.Heartbeat.MarkInbound(time.GetTimestamp());
            var rest = batch;
            while (!session.IsClosed)
            {
                switch (encoding.ReadFrame(ref rest, out var frame, out var error))
                {
                    case FrameRead.End:
                        return;
                    case FrameRead.Frame:
                        await HandleFrameAsync(session, frame!, cancellationToken);
                        break;
                    default:
                        Fail(session, error.Id, error.Code, error.Message);
                        break;
                }
            }
        }
        finally
        {
            session.InboundLock.Release();
        }
    }

    /// <summary>
    /// Subscribes the session to a channel with every check a client subscribe goes through.
    /// <paramref name="firstFrame"/> builds what precedes the messages: a reply, a
    /// <c>subscribed</c> frame, or nothing.
    /// </summary>
    public async Task<SubscribeOutcome> SubscribeAsync(
        Session session,
        ChannelMatch match,
        StreamPosition? since,
        Func<SubscribeOutcome, byte[]?> firstFrame,
        CancellationToken cancellationToken)
    {
        if (session.IsSubscribed(match.Channel))
        {
            throw new PubSubException(PubSubErrorCodes.AlreadySubscribed, $"Already subscribed to '{match.Channel}'.");
        }
        await AuthorizeReadAsync(session, match);
        return await SubscribeAuthorizedAsync(session, match, since, firstFrame, cancellationToken);
    }

    /// <summary>Subscribes a session whose right to the channel was already checked with <see cref="AuthorizeReadAsync"/>.</summary>
    public async Task<SubscribeOutcome> SubscribeAuthorizedAsync(
        Session session,
        ChannelMatch match,
        StreamPosition? since,
        Func<SubscribeOutcome, byte[]?> firstFrame,
        CancellationToken cancellationToken)
    {
        var subscription = new Subscription(session, match);
        if (!session.TryAdd(subscription, options.Value.MaxSubscriptionsPerSession, out var error))
        {
            throw new PubSubException(error.Code, error.Message);
        }

        SubscribeOutcome outcome;
        try
        {
            outcome = await hub.SubscribeAsync(subscription, since, firstFrame, cancellationToken);
        }
        catch
        {
            session.Remove(subscription);
            throw;
        }

        if (session.IsClosed)
        {
            // The session closed while this was in flight; its release may have missed it.
            hub.Unsubscribe(subscription);
        }
        return outcome;
    }

    /// <summary>
    /// Checks that the session may read the channel (subscribe or history): the channel's policy
    /// and its subscribe hook. Throws the protocol error that says why not.
    /// </summary>
    public async ValueTask AuthorizeReadAsync(Session session, ChannelMatch match)
    {
        await AuthorizePolicyAsync(session, match);
        await hooks.AuthorizeSubscribeAsync(session, match);
    }

    /// <summary>Resolves a channel name, or throws the protocol error that says why it is refused.</summary>
    public ChannelMatch Resolve(string? channel, bool keep = false) =>
        channels.TryResolve(channel, out var match, out var error, keep) ? match! : throw new PubSubException(error.Code, error.Message);

    private async Task HandleFrameAsync(Session session, ClientFrame frame, CancellationToken cancellationToken)
    {
        try
        {
            switch (frame.Type)
            {
                case ClientFrameType.Ping:
                    // A ping with an id is a request like any other; without one it gets a pong.
                    session.Send(frame.Id is { } id ? session.Encoding.ReplyEmpty(id) : session.Encoding.Pong);
                    break;
                case ClientFrameType.Pong:
                    break;
                case ClientFrameType.Close:
                    // The client is leaving: nobody is left to tell, and the rest of the batch is moot.
                    session.Abandon();
                    break;
                case ClientFrameType.Subscribe:
                    await SubscribeAsync(session, frame, cancellationToken);
                    break;
                case ClientFrameType.Unsubscribe:
                    await UnsubscribeAsync(session, frame);
                    break;
                case ClientFrameType.Publish:
                    await PublishAsync(session, frame, cancellationToken);
                    break;
                case ClientFrameType.History:
                    await HistoryAsync(session, frame, cancellationToken);
                    break;
                case ClientFrameType.Presence:
                    await PresenceAsync(session, frame, cancellationToken);
                    break;
                case ClientFrameType.PresenceStats:
                    await PresenceStatsAsync(session, frame, cancellationToken);
                    break;
            }
        }
        catch (PubSubException e)
        {
            Fail(session, frame.Id, e.Code, e.Message);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            Log.FrameFailed(logger, frame.Type, session.Id, e);
            Fail(session, frame.Id, PubSubErrorCodes.Internal, "The server failed to handle the frame.");
        }
    }

    // Its own method: a lambda capturing the frame in HandleFrameAsync would cost every frame a closure.
    private Task<SubscribeOutcome> SubscribeAsync(Session session, ClientFrame frame, CancellationToken cancellationToken) =>
        SubscribeAsync(
            session,
            Resolve(frame.Channel, keep: true),
            frame.Since,
            outcome => frame.Id is { } id ? session.Encoding.ReplyPosition(id, outcome.Latest, outcome.Recovered) : null,
            cancellationToken);

    private async Task UnsubscribeAsync(Session session, ClientFrame frame)
    {
        var channel = await UnsubscribeAsync(session, frame.Channel);
        // The reply leaves the channel in the cursor of transports that keep one.
        if (frame.Id is { } id)
        {
            session.Send(OutboundFrame.Removing(session.Encoding.ReplyEmpty(id), channel));
        }
    }

    /// <summary>Ends the session's subscription to a channel, as a client unsubscribe does; returns the channel's name.</summary>
    public async Task<string> UnsubscribeAsync(Session session, string? channel)
    {
        var match = Resolve(channel);
        var subscription = session.Remove(match.Channel)
            ?? throw new PubSubException(PubSubErrorCodes.NotSubscribed, $"Not subscribed to '{match.Channel}'.");
        hub.Unsubscribe(subscription);
        await hooks.NotifyUnsubscribeAsync(subscription);
        return match.Channel;
    }

    private async Task PublishAsync(Session session, ClientFrame frame, CancellationToken cancellationToken)
    {
        var stored = await StartPublishAsync(session, frame.Channel, frame.Data!.Value, frame.IdempotencyKey, cancellationToken);
        _ = ReplyWhenStoredAsync(session, frame, stored);
    }

    /// <summary>
    /// A client publish, through every rule a client publish passes: the channel's client-publish
    /// flag, its policy, the rate limits and the <c>OnPublish</c> hook (a refusal throws). Returns
    /// once the publication is issued, with the task of its storing, which never faults but with
    /// a <see cref="PubSubException"/>: the caller answers the client when it completes.
    /// </summary>
    public async Task<Task<StreamPosition>> StartPublishAsync(Session session, string? channel, Payload data, string? idempotencyKey, CancellationToken cancellationToken)
    {
        try
        {
            var match = Resolve(channel, keep: true);
            if (!match.Options.AllowClientPublish)
            {
                throw new PubSubException(PubSubErrorCodes.Forbidden, $"Clients may not publish to '{match.Channel}'.");
            }
            await AuthorizePolicyAsync(session, match);
            publishLimits.Acquire(session);
            await hooks.AuthorizePublishAsync(session, match, data);
            // Issued now, in frame order (which is offset order: IBroker requires publishes started
            // one after another to take offsets in that order), but not awaited before the next
            // frame: with a broker that has a round trip, a client's publishes travel pipelined
            // instead of one round trip at a time. Not cancelled when the session closes: what the
            // client sent before it left is published; only the reply has no one to go to.
            await session.PublishSlots.WaitAsync(cancellationToken);
            ValueTask<StreamPosition> publishing;
            try
            {
                publishing = publisher.PublishAsync(match, data, idempotencyKey, CancellationToken.None);
            }
            catch
            {
                // The publisher reports failures through its task; this guards the slot anyway.
                session.PublishSlots.Release();
                throw;
            }
            return CompletePublishAsync(session, publishing);
        }
        catch (PubSubException e)
        {
            metrics.Publication(ChannelPublisher.Client, e.Code);
            throw;
        }
    }

    private async Task<StreamPosition> CompletePublishAsync(Session session, ValueTask<StreamPosition> publishing)
    {
        try
        {
            var position = await publishing;
            metrics.Publication(ChannelPublisher.Client, refusal: null);
            return position;
        }
        catch (PubSubException e)
        {
            metrics.Publication(ChannelPublisher.Client, e.Code);
            throw;
        }
        catch (Exception e)
        {
            Log.PublishFailed(logger, session.Id, e);
            throw new PubSubException(PubSubErrorCodes.Internal, "The server failed to publish.");
        }
        finally
        {
            session.PublishSlots.Release();
        }
    }

    private static async Task ReplyWhenStoredAsync(Session session, ClientFrame frame, Task<StreamPosition> stored)
    {
        try
        {
            var position = await stored;
            if (frame.Id is { } id)
            {
                session.Send(session.Encoding.ReplyPosition(id, position));
            }
        }
        catch (PubSubException e)
        {
            Fail(session, frame.Id, e.Code, e.Message);
        }
    }

    private async Task HistoryAsync(Session session, ClientFrame frame, CancellationToken cancellationToken)
    {
        var match = Resolve(frame.Channel);
        // Reading history reveals what subscribing would: the same checks apply.
        await AuthorizeReadAsync(session, match);
        var page = await publisher.GetHistoryAsync(match, frame.Since, frame.Limit ?? ClientFrameParser.DefaultHistoryLimit, cancellationToken);
        if (session.Encoding.ReplyHistoryUpperBound(page) is var size && size > session.Outbound.Limit)
        {
            // Like every frame, a reply must fit in what the session may hold for its client.
            throw new PubSubException(PubSubErrorCodes.MessageTooLarge,
                $"The {page.Publications.Count} publications would make a reply of about {size} bytes, more than a session may hold for its client ({session.Outbound.Limit}); ask for fewer with 'limit' and page with 'since'.");
        }
        if (frame.Id is { } id)
        {
            session.Send(session.Encoding.ReplyHistory(id, page));
        }
    }

    private async Task PresenceAsync(Session session, ClientFrame frame, CancellationToken cancellationToken)
    {
        var match = await ResolvePresenceAsync(session, frame);
        var page = await publisher.GetPresenceAsync(match, PresenceMember.MaxListed, cancellationToken);
        if (frame.Id is { } id)
        {
            session.Send(session.Encoding.ReplyPresence(id, page));
        }
    }

    private async Task PresenceStatsAsync(Session session, ClientFrame frame, CancellationToken cancellationToken)
    {
        var match = await ResolvePresenceAsync(session, frame);
        var stats = await publisher.GetPresenceStatsAsync(match, cancellationToken);
        if (frame.Id is { } id)
        {
            session.Send(session.Encoding.ReplyPresenceStats(id, stats));
        }
    }

    /// <summary>The channel of a presence request: one that keeps presence, which the session may read as it may subscribe.</summary>
    private async Task<ChannelMatch> ResolvePresenceAsync(Session session, ClientFrame frame)
    {
        var match = Resolve(frame.Channel);
        // Who is there tells what subscribing would: the same checks apply.
        await AuthorizeReadAsync(session, match);
        ChannelPublisher.RequirePresence(match);
        return match;
    }

    private ValueTask AuthorizePolicyAsync(Session session, ChannelMatch match) =>
        match.Options.Access.AuthorizeAsync(authorization, session.User, match);

    private static void Fail(Session session, long? id, string code, string message) =>
        session.Send(id is { } value ? session.Encoding.ReplyError(value, code, message) : session.Encoding.Error(code, message));

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Error, "Handling a {FrameType} frame of session {SessionId} failed.")]
        public static partial void FrameFailed(ILogger logger, ClientFrameType frameType, string sessionId, Exception exception);

        [LoggerMessage(2, LogLevel.Error, "A publish of session {SessionId} failed.")]
        public static partial void PublishFailed(ILogger logger, string sessionId, Exception exception);

    }
}
