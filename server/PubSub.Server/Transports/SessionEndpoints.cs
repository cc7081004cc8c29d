using System.Globalization;
using Microsoft.AspNetCore.Http;
using PubSub.Cluster;
using PubSub.Http;
using Microsoft.Net.Http.Headers;
using PubSub.Node;
using PubSub.Protocol;
using PubSub.Sessions;

namespace PubSub.Transports;

/// <summary>
/// The HTTP side of <c>POST {prefix}/send</c> and <c>GET {prefix}/poll</c>: reads the request,
/// hands it to the owning node (this one, or another through the broker), and writes the answer.
/// This is what makes sticky sessions unnecessary.
/// </summary>
internal sealed class SessionEndpoints(NodeIdentity identity, SessionRequestHandler local, SessionForwarder forwarder, LongPollingTransport polling, RequestBodyReader bodies)
{
    public async Task SendAsync(HttpContext context)
    {
        if (!TryReadSession(context, out var sessionId, out var owner))
        {
            await HttpErrors.WriteAsync(context, PubSubErrorCodes.BadRequest, "'session' must be a session id from a 'connected' frame.");
            return;
        }
        if (await UserKeyOrRefuseAsync(context) is not { } userKey)
        {
            return;
        }
        if (await bodies.ReadAsync(context, "A /send body") is not { } body)
        {
            return;
        }
        var request = new SessionRequest(SessionRequestKind.Send, sessionId, userKey, 0, body, BodyEncoding(context.Request));
        await WriteAsync(context, await RouteAsync(owner, request, context.RequestAborted));
    }

    public async Task PollAsync(HttpContext context)
    {
        if (!context.Request.Query.ContainsKey("session"))
        {
            await polling.OpenAsync(context);
            return;
        }
        if (!TryReadSession(context, out var sessionId, out var owner))
        {
            await HttpErrors.WriteAsync(context, PubSubErrorCodes.BadRequest, "'session' must be a session id from a 'connected' frame.");
            return;
        }
        if (!SessionBootstrap.TryReadEncoding(context, out var encoding, out var encodingProblem))
        {
            await HttpErrors.WriteAsync(context, PubSubErrorCodes.BadRequest, encodingProblem);
            return;
        }
        if (!long.TryParse(context.Request.Query["ack"].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var ack))
        {
            await HttpErrors.WriteAsync(context, PubSubErrorCodes.BadRequest, "'ack' must be the number of frames received so far (an integer >= 0).");
            return;
        }
        if (await UserKeyOrRefuseAsync(context) is not { } userKey)
        {
            return;
        }
        var request = new SessionRequest(SessionRequestKind.Poll, sessionId, userKey, ack, ReadOnlyMemory<byte>.Empty, encoding);
        await WriteAsync(context, await RouteAsync(owner, request, context.RequestAborted));
    }

    /// <summary>
    /// The key of the caller's identity (<see cref="UserKey.Of"/>); null, with 403
    /// written, for a user a session cannot be bound to: its requests could not be told from
    /// another user's.
    /// </summary>
    public static async Task<string?> UserKeyOrRefuseAsync(HttpContext context)
    {
        if (UserKey.Of(context.User) is { } userKey)
        {
            return userKey;
        }
        await HttpErrors.WriteAsync(context, PubSubErrorCodes.Forbidden, UserKey.UnboundUserMessage);
        return null;
    }

    public static async Task WriteAsync(HttpContext context, SessionResponse response)
    {
        context.Response.StatusCode = response.Status;
        context.Response.Headers.CacheControl = "no-store";
        if (response.ContentType is not null)
        {
            context.Response.ContentType = response.ContentType;
        }
        if (!response.Body.IsEmpty)
        {
            await context.Response.Body.WriteAsync(response.Body, context.RequestAborted);
        }
    }

    private Task<SessionResponse> RouteAsync(string owner, SessionRequest request, CancellationToken cancellationToken) =>
        owner == identity.Id ? local.HandleAsync(request, cancellationToken) : forwarder.ForwardAsync(owner, request, cancellationToken);

    /// <summary>
    /// The encoding of a <c>/send</c> body, by its Content-Type (docs/protocol.md, section 6.3):
    /// MessagePack for <c>application/vnd.msgpack</c>, JSON for anything else (<c>text/plain</c>
    /// is what a browser sends without a CORS preflight).
    /// </summary>
    internal static FrameEncoding BodyEncoding(HttpRequest request) =>
        MediaTypeHeaderValue.TryParse(request.ContentType, out var type)
            && FrameEncoding.All.FirstOrDefault(e => e != FrameEncoding.Json && type.MediaType.Equals(e.ContentType, StringComparison.OrdinalIgnoreCase)) is { } encoding
            ? encoding
            : FrameEncoding.Json;

    private static bool TryReadSession(HttpContext context, out string sessionId, out string owner)
    {
        sessionId = context.Request.Query["session"].ToString();
        owner = Ids.OwnerOf(sessionId) ?? "";
        return owner.Length > 0 && Ids.IsValidNodeId(owner);
    }
}
