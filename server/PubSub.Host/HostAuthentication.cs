using System.Globalization;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.Tokens;

namespace PubSub.Host;

/// <summary>
/// Token authentication without code: JWT bearer from the <c>Authentication:Schemes:Bearer</c>
/// section (ASP.NET Core binds issuer, audiences, signing keys or an authority from it, the
/// format <c>dotnet user-jwts</c> writes). The token comes in the <c>Authorization</c> header, or,
/// where a browser cannot set headers (a WebSocket, an EventSource), in the <c>access_token</c>
/// query parameter. Channel templates then say who may use them (RequireAuthenticatedUser,
/// RequireRoles, RequireClaims, UserParameter). docs/deployment.md, "Token authentication".
/// </summary>
internal static class HostAuthentication
{
    public const string Section = "Authentication:Schemes:Bearer";
    public const string QueryParameter = "access_token";

    public static WebApplicationBuilder AddAuthenticationIfConfigured(this WebApplicationBuilder builder)
    {
        if (builder.Configuration.GetSection(Section).Exists())
        {
            builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme)
                .AddJwtBearer(options => options.Events = new JwtBearerEvents
                {
                    OnMessageReceived = ReadQueryToken,
                    OnAuthenticationFailed = context => AuthorityKeyRollover.RetryWithRefetchedKeysAsync(context, TokenOf(context.Request)),
                });
        }
        return builder;
    }

    /// <summary>
    /// Authenticates every request, and refuses a PubSub request under <paramref name="prefix"/>
    /// whose token is invalid with 401 and the reason, instead of serving it as anonymous: a client
    /// with an expired token should learn to fetch a new one, not find its channels forbidden.
    /// </summary>
    public static WebApplication UseAuthenticationIfConfigured(this WebApplication app, string prefix)
    {
        if (!app.Configuration.GetSection(Section).Exists())
        {
            return app;
        }
        app.UseAuthentication();
        app.Use(async (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments(prefix) && await context.AuthenticateAsync() is { Failure: { } failure })
            {
                context.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
                await Results.Json(new { error = new { code = PubSubErrorCodes.Unauthorized, message = Describe(failure) } }, statusCode: StatusCodes.Status401Unauthorized)
                    .ExecuteAsync(context);
                return;
            }
            await next(context);
        });
        return app;
    }

    private static Task ReadQueryToken(MessageReceivedContext context)
    {
        var query = context.Request.Query[QueryParameter];
        if (query.Count == 0)
        {
            return Task.CompletedTask;
        }
        if (query.Count > 1 || context.Request.Headers.Authorization.Count > 0)
        {
            // Two tokens could name two users: refuse rather than pick one.
            context.Fail($"Send one access token, either in the Authorization header or in the '{QueryParameter}' parameter.");
            return Task.CompletedTask;
        }
        context.Token = query[0];
        return Task.CompletedTask;
    }

    /// <summary>The token as JWT bearer read it: the query parameter (<see cref="ReadQueryToken"/>) or the bearer header.</summary>
    private static string? TokenOf(HttpRequest request)
    {
        if (request.Query[QueryParameter] is [{ } query])
        {
            return query;
        }
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
    }

    /// <summary>What was wrong with the token, in words a client's developer can act on (IdentityModel's own messages hide the details).</summary>
    private static string Describe(Exception failure) => failure switch
    {
        SecurityTokenExpiredException expired => string.Create(CultureInfo.InvariantCulture, $"The access token expired at {expired.Expires:O}; get a new one."),
        SecurityTokenNotYetValidException early => string.Create(CultureInfo.InvariantCulture, $"The access token is not valid before {early.NotBefore:O}."),
        SecurityTokenInvalidAudienceException => "The access token is for another audience.",
        SecurityTokenInvalidIssuerException => "The access token is from an issuer this server does not trust.",
        SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException => "The access token's signature is not valid.",
        AuthenticationFailureException => failure.Message,
        _ => "The access token is not valid.",
    };
}
