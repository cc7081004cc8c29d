using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PubSub.Sessions;

namespace PubSub.Channels;

/// <summary>
/// Runs the application's channel hooks, each call in a service scope of its own (as SignalR's hub
/// dispatcher runs each hub method), so a hook may use scoped services such as a DbContext through
/// <see cref="ChannelContext.Services"/>; the scope ends with the call. A hook that throws is the
/// application's bug: it is logged here, once, with the hook and the channel, and the caller gets
/// <c>internal</c> without the exception's details.
/// </summary>
internal sealed partial class HookRunner(IServiceScopeFactory scopes, ILogger<HookRunner> logger)
{
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
    public async ValueTask AuthorizePublishAsync(Session session, ChannelMatch match, Payload data)
    {
        if (match.Options.OnPublish is not { } hook)
        {
            return;
        }
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
            throw new PubSubException(PubSubErrorCodes.Internal, "The server failed to handle the request.");
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
    }
}
