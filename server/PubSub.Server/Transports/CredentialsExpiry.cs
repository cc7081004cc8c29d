using System.Globalization;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;

namespace PubSub.Transports;

/// <summary>When the credentials a request was authenticated with expire, if they do.</summary>
internal static class CredentialsExpiry
{
    /// <summary>
    /// The authentication result's expiry (JWT bearer sets it from the token's <c>exp</c>, a
    /// cookie from its ticket), else an <c>exp</c> claim (seconds since 1970, as in a JWT), else
    /// none: the session may last as long as it is connected.
    /// </summary>
    public static DateTimeOffset? Of(HttpContext context)
    {
        if (context.User.Identity?.IsAuthenticated != true)
        {
            return null;
        }
        if (context.Features.Get<IAuthenticateResultFeature>()?.AuthenticateResult?.Properties?.ExpiresUtc is { } expires)
        {
            return expires;
        }
        return context.User.FindFirst("exp")?.Value is { } exp
            && long.TryParse(exp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : null;
    }
}
