using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PubSub.Sessions;

namespace PubSub.Channels;

/// <summary>
/// Runs the application's channel hooks, each call in a service scope of its own (as SignalR's hub
/// dispatcher runs each hub method), so a hook may use scoped services such as a DbContext through
/// <see cref="ChannelContext.Services"/>; the scope ends with the call. A hook that throws is the
/// application's bug: it is logged here, once, with the hook and the channel, and the caller gets
/// <c>internal</c> without the exception's details.
/// </summary>
internal sealed partial class HookRunner(IServiceScopeFactory scopes, IOptions<PubSubOptions> options, ChannelRegistry channels, ILogger<HookRunner> logger)
{
    /// <summary>
    /// Runs the node's connect hook, if any: what it attached and the channels it subscribed the
    /// session to, resolved. Throws the protocol error of a rejection, and <c>internal</c> when the
    /// hook failed or named a channel no template matches.
    /// </summary>
    public async ValueTask<ConnectOutcome> ConnectAsync(HttpContext httpContext, string transport)
    {
        if (options.Value.OnConnect is not { } hook)
        {
            return ConnectOutcome.None;
        }
        await using var scope = scopes.CreateAsyncScope();
        var context = new ConnectContext(httpContext, transport, scope.ServiceProvider);
        try
        {
            await hook(context);
        }
        catch (Exception e) when (e is not PubSubException)
        {
            Log.ConnectionHookFailed(logger, nameof(PubSubOptions.OnConnect), e);
            throw Internal();
        }
        if (context.RejectionCode is { } code)
        {
            throw new PubSubException(code, context.RejectionMessage!);
        }
        var matches = new List<ChannelMatch>(context.Channels.Count);
        foreach (var channel in context.Channels)
        {
            if (!channels.TryResolve(channel, out var match, out var error))
            {
                // The application's mistake, not the client's.
                Log.ConnectChannelRefused(logger, channel, error.Message);
                throw Internal();
            }
            matches.Add(match!);
        }
        return new ConnectOutcome(context.ConnectionInfo, matches);
    }

    private static PubSubException Internal() => new(PubSubErrorCodes.Internal, "The server failed to handle the request.");

    /// <summary>Runs the node's disconnect hook, if any, for a session that ended. Its failure reaches no client: it is only logged.</summary>
    public async ValueTask NotifyDisconnectAsync(Session session)
    {
        if (options.Value.OnDisconnect is not { } hook)
        {
            return;
        }
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var reason = session.CloseReason;
            await hook(new DisconnectContext(session.Id, session.User, session.Transport, session.ConnectionInfo, reason?.Code, reason?.Reason, scope.ServiceProvider));
        }
        catch (Exception e)
        {
            Log.ConnectionHookFailed(logger, nameof(PubSubOptions.OnDisconnect), e);
        }
    }

    /// <summary>Runs the channel's subscribe hook, if any; throws the protocol error of a rejection.</summary>
    public async ValueTask AuthorizeSubscribeAsync(Session session, ChannelMatch match)
    {
        if (match.Options.OnSubscribe is not { } hook)
        {
            return;
        }
        await using var scope = scopes.CreateAsyncScope();
        var context = new SubscribeContext(match.Channel, match.RouteValues, session.User, session.Id, scope.ServiceProvider);
        await RunAsync(nameof(ChannelOptions.OnSubscribe), match, () => hook(context));
        ThrowIfRejected(context);
    }

    /// <summary>Runs the channel's publish hook, if any; throws the protocol error of a rejection.</summary>
    public ValueTask AuthorizePublishAsync(Session session, ChannelMatch match, Payload data) =>
        // Split so that a channel without the hook, the common case on every publish, costs no async state.
        match.Options.OnPublish is { } hook ? RunPublishHookAsync(hook, session, match, data) : ValueTask.CompletedTask;

    private async ValueTask RunPublishHookAsync(Func<PublishContext, ValueTask> hook, Session session, ChannelMatch match, Payload data)
    {
        await using var scope = scopes.CreateAsyncScope();
        var context = new PublishContext(match.Channel, match.RouteValues, session.User, session.Id, scope.ServiceProvider, data);
        await RunAsync(nameof(ChannelOptions.OnPublish), match, () => hook(context));
        ThrowIfRejected(context);
    }

    /// <summary>Runs the channel's unsubscribe hook, if any. It cannot refuse, and its failure reaches no client: it is only logged.</summary>
    public async ValueTask NotifyUnsubscribeAsync(Subscription subscription)
    {
        var match = subscription.Match;
        if (match.Options.OnUnsubscribe is not { } hook)
        {
            return;
        }
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            await hook(new UnsubscribeContext(match.Channel, match.RouteValues, subscription.Session.User, subscription.Session.Id, scope.ServiceProvider));
        }
        catch (Exception e)
        {
            Log.HookFailed(logger, nameof(ChannelOptions.OnUnsubscribe), match.Channel, e);
        }
    }

    private async ValueTask RunAsync(string name, ChannelMatch match, Func<ValueTask> call)
    {
        try
        {
            await call();
        }
        catch (Exception e) when (e is not PubSubException)
        {
            Log.HookFailed(logger, name, match.Channel, e);
            throw Internal();
        }
    }

    private static void ThrowIfRejected(RejectableChannelContext context)
    {
        if (context.RejectionCode is { } code)
        {
            throw new PubSubException(code, context.RejectionMessage!);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Error, "The {Hook} hook of channel '{Channel}' failed.")]
        public static partial void HookFailed(ILogger logger, string hook, string channel, Exception exception);

        [LoggerMessage(2, LogLevel.Error, "The {Hook} hook failed.")]
        public static partial void ConnectionHookFailed(ILogger logger, string hook, Exception exception);

        [LoggerMessage(3, LogLevel.Error, "The OnConnect hook subscribed a session to '{Channel}', which is refused: {Problem}")]
        public static partial void ConnectChannelRefused(ILogger logger, string channel, string problem);
    }
}

/// <summary>What the connect hook gave a new session: its connection information and the channels the server subscribes it to.</summary>
internal sealed record ConnectOutcome(Payload? ConnectionInfo, IReadOnlyList<ChannelMatch> Channels)
{
    public static readonly ConnectOutcome None = new(null, []);
}
