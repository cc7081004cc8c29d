using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace PubSub.Http;

/// <summary>
/// Which browser origins may use the endpoints: the server's own, and those in
/// <see cref="PubSubOptions.AllowedOrigins"/> (<c>*</c> for any). Requests without an
/// <c>Origin</c> header (non-browser clients) are always allowed: the rule exists to stop other
/// sites from using a visitor's cookies, which only browsers send.
/// </summary>
internal sealed class OriginPolicy
{
    private readonly HashSet<string> _allowed;
    private readonly bool _any;

    public OriginPolicy(IOptions<PubSubOptions> options)
    {
        _allowed = new HashSet<string>(options.Value.AllowedOrigins.Select(o => o.TrimEnd('/')), StringComparer.OrdinalIgnoreCase);
        _any = _allowed.Contains("*");
    }

    /// <summary>The request's origin when it is a cross-origin one that is allowed (CORS headers are due), else null.</summary>
    public bool IsAllowed(HttpContext context, out string? crossOrigin)
    {
        crossOrigin = null;
        var origin = context.Request.Headers.Origin.ToString();
        if (origin.Length == 0 || IsSameOrigin(context.Request, origin))
        {
            return true;
        }
        if (_any || _allowed.Contains(origin))
        {
            crossOrigin = origin;
            return true;
        }
        return false;
    }

    private static bool IsSameOrigin(HttpRequest request, string origin) =>
        string.Equals(origin, $"{request.Scheme}://{request.Host.Value}", StringComparison.OrdinalIgnoreCase);
}
