using System.Net;
using Microsoft.AspNetCore.Http;
using PubSub.Channels;
using PubSub.Http;
using PubSub.Limits;
using PubSub.Node;
using PubSub.Sessions;

namespace PubSub.Transports;

/// <summary>What admission gave a new session: its place under the connection limits, and when the credentials it was opened with expire.</summary>
internal sealed record SessionTicket(ConnectionLease Lease, DateTimeOffset? CredentialsExpire, ConnectOutcome Connect)
{
    /// <summary>For sessions made without a request (tests, tools): no limits, no expiry, no connect hook.</summary>
    public static readonly SessionTicket Unlimited = new(ConnectionLease.None, null, ConnectOutcome.None);
}

/// <summary>
/// Lets a new session in, or refuses it before anything else happens (before a WebSocket upgrade,
/// before an SSE stream or a long-polling session starts), with an HTTP error the client can read:
/// a node that is draining (503 <c>unavailable</c>), credentials that have already expired (401 <c>unauthorized</c>), and the connection limits
/// (429 or 503, with <c>Retry-After</c> when the limit is a rate), and last the application's
/// <see cref="PubSubOptions.OnConnect"/> hook, which only runs for a client the node would take.
/// </summary>
internal sealed class SessionAdmission(ConnectionLimiter limits, NodeDrain drain, TimeProvider time, HookRunner hooks)
{
    public async Task<SessionTicket?> AdmitAsync(HttpContext context, string transport)
    {
        if (drain.IsDraining)
        {
            // The load balancer is about to stop sending clients here: this one retries elsewhere.
            await HttpErrors.WriteAsync(context, PubSubErrorCodes.Unavailable, "This node is shutting down; connect again to reach another node.");
            return null;
        }
        var expires = CredentialsExpiry.Of(context);
        // An authentication handler may accept a token a little past its expiry (JWT bearer's
        // clock skew); a session opened with it would be closed at once, and reopened, in a loop.
        if (expires is { } at && at <= time.GetUtcNow())
        {
            await HttpErrors.WriteAsync(context, PubSubErrorCodes.Unauthorized,
                $"The credentials expired at {at:O}; get a new access token and connect again.");
            return null;
        }
        if (!limits.TryAdmit(UserKey.Of(context.User), AddressOf(context), out var lease, out var refusal))
        {
            if (refusal.RetryAfter is { } after)
            {
                context.Response.Headers.RetryAfter = TokenBuckets.RetryAfterHeader(after);
            }
            await HttpErrors.WriteAsync(context, refusal.Code, refusal.Message);
            return null;
        }
        ConnectOutcome connect;
        try
        {
            connect = await hooks.ConnectAsync(context, transport);
        }
        catch (PubSubException e)
        {
            lease.Dispose();
            await HttpErrors.WriteAsync(context, e);
            return null;
        }
        return new SessionTicket(lease, expires, connect);
    }

    /// <summary>The client's address (the proxy's, unless forwarded headers are applied), IPv4 in its own form.</summary>
    private static string AddressOf(HttpContext context) => context.Connection.RemoteIpAddress switch
    {
        null => "",
        { IsIPv4MappedToIPv6: true } mapped => mapped.MapToIPv4().ToString(),
        IPAddress address => address.ToString(),
    };
}
