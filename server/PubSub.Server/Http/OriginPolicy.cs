using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace PubSub.Http;

/// <summary>
/// Which browser origins may use the endpoints (docs/protocol.md, section 3.8): the server's own,
/// and those in <see cref="PubSubOptions.AllowedOrigins"/> (<c>*</c> for any). Requests without an
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
    /// Runs <paramref name="next"/> for allowed origins, with CORS headers on cross-origin requests,
    /// and answers a preflight itself; refuses other origins with 403.
    /// </summary>
    public RequestDelegate Guard(RequestDelegate next) => async context =>
    {
        var origin = context.Request.Headers.Origin.ToString();
        if (origin.Length == 0 || IsSameOrigin(context.Request, origin))
        {
            await next(context);
            return;
        }
        if (!_any && !_allowed.Contains(origin))
        {
            await HttpErrors.WriteAsync(context, StatusCodes.Status403Forbidden, PubSubErrorCodes.Forbidden, $"Origin '{origin}' is not allowed.");
            return;
        }

        var headers = context.Response.Headers;
        headers.AccessControlAllowOrigin = origin;
        headers.AccessControlAllowCredentials = "true";
        headers.Vary = HeaderNames.Origin;
        if (HttpMethods.IsOptions(context.Request.Method))
        {
            headers.AccessControlAllowMethods = "GET, POST, OPTIONS";
            var requested = context.Request.Headers.AccessControlRequestHeaders.ToString();
            headers.AccessControlAllowHeaders = requested.Length > 0 ? requested : "Content-Type, Authorization, Last-Event-ID";
            headers.AccessControlMaxAge = PreflightMaxAgeSeconds;
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return;
        }
        await next(context);
    };

    private static bool IsSameOrigin(HttpRequest request, string origin) =>
        string.Equals(origin, $"{request.Scheme}://{request.Host.Value}", StringComparison.OrdinalIgnoreCase);
}
