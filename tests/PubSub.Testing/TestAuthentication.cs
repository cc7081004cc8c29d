using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace PubSub.Testing;

/// <summary>
/// An authentication scheme for tests: the user named in the <c>X-Test-User</c> header (or the
/// <c>user</c> query parameter, as browsers cannot set headers on WebSocket and EventSource),
/// with the roles in <c>X-Test-Roles</c>. No header, no user. It stands in for whatever scheme
/// an application configures (cookies, bearer tokens); the server only sees a ClaimsPrincipal.
/// By default the identity carries the name as both its name identifier and its name claim;
/// <c>X-Test-Claims</c> (<c>id</c>, <c>name</c> or <c>none</c>) keeps only one or neither, and
/// <c>X-Test-Authentication-Type</c> gives the identity another authentication type, as a second
/// scheme of the application would; <c>X-Test-Extra-Claims</c> adds claims (<c>scope=chat,tier=gold</c>).
/// </summary>
public sealed class TestAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Test";
    public const string UserHeader = "X-Test-User";
    public const string RolesHeader = "X-Test-Roles";
    public const string ClaimsHeader = "X-Test-Claims";
    public const string AuthenticationTypeHeader = "X-Test-Authentication-Type";

    /// <summary>Extra claims, each <c>type=value</c>, comma-separated.</summary>
    public const string ExtraClaimsHeader = "X-Test-Extra-Claims";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var user = Request.Headers[UserHeader].ToString();
        if (user.Length == 0)
        {
            user = Request.Query["user"].ToString();
        }
        if (user.Length == 0)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }
        var which = Request.Headers[ClaimsHeader].ToString();
        var claims = new List<Claim>();
        if (which is "" or "id")
        {
            claims.Add(new(ClaimTypes.NameIdentifier, user));
        }
        if (which is "" or "name")
        {
            claims.Add(new(ClaimTypes.Name, user));
        }
        claims.AddRange(Request.Headers[ExtraClaimsHeader].ToString().Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(claim => claim.Split('=', 2)).Select(pair => new Claim(pair[0], pair[1])));
        claims.AddRange(Request.Headers[RolesHeader].ToString().Split(',', StringSplitOptions.RemoveEmptyEntries).Select(role => new Claim(ClaimTypes.Role, role)));
        var authenticationType = Request.Headers[AuthenticationTypeHeader].ToString() is { Length: > 0 } type ? type : SchemeName;
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, authenticationType));
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName)));
    }
}

public static class TestAuthenticationExtensions
{
    public static IServiceCollection AddTestAuthentication(this IServiceCollection services)
    {
        services.AddAuthentication(TestAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, TestAuthenticationHandler>(TestAuthenticationHandler.SchemeName, _ => { });
        return services;
    }
}
