using System.Security.Claims;
using Microsoft.AspNetCore.Routing;

namespace PubSub;

/// <summary>What a channel hook sees: the channel, its route values, the client and its session.</summary>
public abstract class ChannelContext
{
    private protected ChannelContext(string channel, RouteValueDictionary routeValues, ClaimsPrincipal user, string sessionId, IServiceProvider services)
    {
        Channel = channel;
        // A copy: the registry shares one match (and its route values) among all requests for the channel.
        RouteValues = new RouteValueDictionary(routeValues);
        User = user;
        SessionId = sessionId;
        Services = services;
    }

    /// <summary>The channel name, for example <c>chat/lobby</c>.</summary>
    public string Channel { get; }

    /// <summary>The values the template captured, for example <c>room = lobby</c> for <c>chat/{room}</c>.</summary>
    public RouteValueDictionary RouteValues { get; }

    /// <summary>The authenticated user of the session (an anonymous principal when there is none).</summary>
    public ClaimsPrincipal User { get; }

    /// <summary>The session's id.</summary>
    public string SessionId { get; }

    /// <summary>The application's services.</summary>
    public IServiceProvider Services { get; }
}

/// <summary>A hook context that can refuse the operation.</summary>
public abstract class RejectableChannelContext : ChannelContext
{
    private protected RejectableChannelContext(string channel, RouteValueDictionary routeValues, ClaimsPrincipal user, string sessionId, IServiceProvider services)
        : base(channel, routeValues, user, sessionId, services)
    {
    }

    /// <summary>The error code of the rejection, once <see cref="Reject(string, string)"/> was called.</summary>
    public string? RejectionCode { get; private set; }

    /// <summary>The message of the rejection, once <see cref="Reject(string, string)"/> was called.</summary>
    public string? RejectionMessage { get; private set; }

    /// <summary>Refuses the operation; the client gets error code <c>forbidden</c> and this message.</summary>
    public void Reject(string message) => Reject(PubSubErrorCodes.Forbidden, message);

    /// <summary>Refuses the operation with an error code of the application's choosing.</summary>
    public void Reject(string code, string message)
    {
        ArgumentException.ThrowIfNullOrEmpty(code);
        ArgumentNullException.ThrowIfNull(message);
        RejectionCode = code;
        RejectionMessage = message;
    }
}

/// <summary>Passed to <see cref="ChannelOptions.OnSubscribe"/> before a client subscribes.</summary>
public sealed class SubscribeContext : RejectableChannelContext
{
    internal SubscribeContext(string channel, RouteValueDictionary routeValues, ClaimsPrincipal user, string sessionId, IServiceProvider services)
        : base(channel, routeValues, user, sessionId, services)
    {
    }
}

/// <summary>Passed to <see cref="ChannelOptions.OnPublish"/> before a client publishes.</summary>
public sealed class PublishContext : RejectableChannelContext
{
    internal PublishContext(string channel, RouteValueDictionary routeValues, ClaimsPrincipal user, string sessionId, IServiceProvider services, Payload data)
        : base(channel, routeValues, user, sessionId, services)
    {
        Data = data;
    }

    /// <summary>What the client publishes.</summary>
    public Payload Data { get; }
}

/// <summary>Passed to <see cref="ChannelOptions.OnUnsubscribe"/> after a subscription ended.</summary>
public sealed class UnsubscribeContext : ChannelContext
{
    internal UnsubscribeContext(string channel, RouteValueDictionary routeValues, ClaimsPrincipal user, string sessionId, IServiceProvider services)
        : base(channel, routeValues, user, sessionId, services)
    {
    }
}
