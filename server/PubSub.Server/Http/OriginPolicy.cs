using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace PubSub.Http;

/// <summary>
/// Which browser origins may use the endpoints (docs/protocol.md, section 3.8): the server's own,
/// and those in <see cref="PubSubOptions.AllowedOrigins"/> (<c>*</c> for any, but without
/// credentials: only listed origins get <c>Access-Control-Allow-Credentials</c>). Requests without an
/// <c>Origin</c> header (non-browser clients) are always allowed: the rule exists to stop other
/// sites from riding on a visitor's cookies, which only browsers send. The same rule guards
/// WebSocket upgrades, which CORS does not cover.
/// </summary>
internal sealed class OriginPolicy
{
    /// <summary>How long a browser may cache a preflight answer.</summary>
    private const string PreflightMaxAgeSeconds = "600";

    private readonly HashSet<string> _allowed;
    private readonly bool _any;

    public OriginPolicy(IOptions<PubSubOptions> options)
    {
        _allowed = new HashSet<string>(options.Value.AllowedOrigins.Select(o => o.TrimEnd('/')), StringComparer.OrdinalIgnoreCase);
        _any = _allowed.Contains("*");
    }

    /// <summary>
    /// Runs <paramref name="next"/> for allowed origins, with CORS headers on cross-origin requests;
    /// refuses other origins with 403. <c>OPTIONS</c> never reaches <paramref name="next"/>: a CORS
    /// preflight gets the CORS answer, any other <c>OPTIONS</c> the endpoint's
    /// <paramref name="methods"/> in <c>Allow</c>, both as 204. A handler that opens a session must
    /// not run for a request that only asks what the endpoint supports.
    /// </summary>
    public RequestDelegate Guard(IReadOnlyList<string> methods, RequestDelegate next)
    {
        var allow = string.Join(", ", methods.Append(HttpMethods.Options));
        // Not an async lambda: a WebSocket or SSE request stays in next for the whole session,
        // and an await here would keep a state machine alive beside it for that long.
        return context =>
        {
            var request = context.Request;
            var origin = request.Headers.Origin.ToString();
            var crossOrigin = origin.Length > 0 && !IsSameOrigin(request, origin);
            if (crossOrigin && !_any && !_allowed.Contains(origin))
            {
                return HttpErrors.WriteAsync(context, StatusCodes.Status403Forbidden, PubSubErrorCodes.Forbidden, $"Origin '{origin}' is not allowed.");
            }

            var headers = context.Response.Headers;
            if (crossOrigin)
            {
                if (_allowed.Contains(origin))
                {
                    headers.AccessControlAllowOrigin = origin;
                    headers.AccessControlAllowCredentials = "true";
                }
                else
                {
                    // Allowed only by '*': any site may call, but not with its visitor's cookies,
                    // so the browser withholds them and refuses a credentialed response.
                    headers.AccessControlAllowOrigin = "*";
                }
                headers.Vary = HeaderNames.Origin;
            }
            if (!HttpMethods.IsOptions(request.Method))
            {
                return next(context);
            }
            if (crossOrigin && request.Headers.AccessControlRequestMethod.Count > 0)
            {
                headers.AccessControlAllowMethods = "GET, POST, OPTIONS";
                var requested = request.Headers.AccessControlRequestHeaders.ToString();
                headers.AccessControlAllowHeaders = requested.Length > 0 ? requested : "Content-Type, Authorization, Last-Event-ID";
                headers.AccessControlMaxAge = PreflightMaxAgeSeconds;
            }
            else
            {
                headers.Allow = allow;
            }
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return Task.CompletedTask;
        };
    }

    private static bool IsSameOrigin(HttpRequest request, string origin) =>
        string.Equals(origin, $"{request.Scheme}://{request.Host.Value}", StringComparison.OrdinalIgnoreCase);
}
