using System.Security.Claims;
using Microsoft.AspNetCore.Http;

namespace PubSub;

/// <summary>
/// Passed to <see cref="PubSubOptions.OnConnect"/> before a session opens (before a WebSocket
/// upgrade, an SSE stream or a long-polling session starts), after authentication and the
/// connection limits. The hook may refuse the client, attach information to the session, and
/// subscribe the session to channels the client did not ask for.
/// </summary>
public sealed class ConnectContext
{
    private readonly List<string> _channels = [];

    internal ConnectContext(HttpContext httpContext, string transport, IServiceProvider services)
    {
        HttpContext = httpContext;
        Transport = transport;
        Services = services;
    }

    /// <summary>The request that opens the session: its headers, query and connection.</summary>
    public HttpContext HttpContext { get; }

    /// <summary>The authenticated user (an anonymous principal when there is none).</summary>
    public ClaimsPrincipal User => HttpContext.User;

    /// <summary>The transport: <c>websocket</c>, <c>sse</c> or <c>long-polling</c>.</summary>
    public string Transport { get; }

    /// <summary>The application's services, in a scope that ends with the hook.</summary>
    public IServiceProvider Services { get; }

    /// <summary>
    /// Information the application attaches to the session (a JSON value, such as the user's
    /// display name): <see cref="DisconnectContext.ConnectionInfo"/> carries it, and so do the
    /// session's presence entries and join/leave frames (as <c>info</c>) on channels that keep
    /// presence. Keep it small: it is stored with every such subscription.
    /// </summary>
    public Payload? ConnectionInfo { get; set; }

    /// <summary>The channels added with <see cref="Subscribe"/>, in order.</summary>
    public IReadOnlyList<string> Channels => _channels;

    /// <summary>The error code of the rejection, once <see cref="Reject(string, string)"/> was called.</summary>
    public string? RejectionCode { get; private set; }

    /// <summary>The message of the rejection, once <see cref="Reject(string, string)"/> was called.</summary>
    public string? RejectionMessage { get; private set; }

    /// <summary>
    /// Subscribes the session to <paramref name="channel"/> from the server, as if the client had
    /// asked: the client gets a <c>subscribed</c> frame for it. The channel must match a template;
    /// the template's read rules do not apply (the server decided).
    /// </summary>
    public void Subscribe(string channel)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        if (!_channels.Contains(channel, StringComparer.Ordinal))
        {
            _channels.Add(channel);
        }
    }

    /// <summary>Refuses the client; it gets error code <c>forbidden</c> (HTTP 403) and this message.</summary>
    public void Reject(string message) => Reject(PubSubErrorCodes.Forbidden, message);

    /// <summary>Refuses the client with an error code of the application's choosing (docs/protocol.md, section 2.7, gives each its HTTP status).</summary>
    public void Reject(string code, string message)
    {
        ArgumentException.ThrowIfNullOrEmpty(code);
        ArgumentNullException.ThrowIfNull(message);
        RejectionCode = code;
        RejectionMessage = message;
    }
}

/// <summary>Passed to <see cref="PubSubOptions.OnDisconnect"/> once a session has ended and its subscriptions are released.</summary>
public sealed class DisconnectContext
{
    internal DisconnectContext(string sessionId, ClaimsPrincipal user, string transport, Payload? connectionInfo, int? code, string? reason, IServiceProvider services)
    {
        SessionId = sessionId;
        User = user;
        Transport = transport;
        ConnectionInfo = connectionInfo;
        Code = code;
        Reason = reason;
        Services = services;
    }

    /// <summary>The session's id.</summary>
    public string SessionId { get; }

    /// <summary>The session's user.</summary>
    public ClaimsPrincipal User { get; }

    /// <summary>The transport the session was on.</summary>
    public string Transport { get; }

    /// <summary>What <see cref="ConnectContext.ConnectionInfo"/> attached, if anything.</summary>
    public Payload? ConnectionInfo { get; }

    /// <summary>
    /// The disconnect code the server closed the session with (docs/protocol.md, section 2.8); null
    /// when the client went away (closed, lost its connection, stopped polling).
    /// </summary>
    public int? Code { get; }

    /// <summary>The reason that came with <see cref="Code"/>; null when the client went away.</summary>
    public string? Reason { get; }

    /// <summary>The application's services, in a scope that ends with the hook.</summary>
    public IServiceProvider Services { get; }
}
