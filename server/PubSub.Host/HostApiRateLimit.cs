using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using PubSub.Limits;

namespace PubSub.Host;

/// <summary>
/// The server API (/api) rate-limited per client address with ASP.NET Core's rate limiter, a token
/// bucket from <c>Host:ApiRateLimit</c> (<c>PermitsPerSecond</c>, <c>Burst</c>; off while
/// PermitsPerSecond is 0, the default). A caller over the limit gets 429 with <c>Retry-After</c>
/// and a <c>rate_limited</c> error body; the rate limiter's own metrics count the refusals.
/// </summary>
internal static class HostApiRateLimit
{
    public const string Policy = "pubsub-api";
    private const string Section = "Host:ApiRateLimit";

    public static WebApplicationBuilder AddApiRateLimitIfEnabled(this WebApplicationBuilder builder)
    {
        var settings = builder.Configuration.GetSection(Section);
        var perSecond = settings.GetValue<double>("PermitsPerSecond");
        if (perSecond <= 0)
        {
            return builder;
        }
        var bucket = TokenBuckets.Options(perSecond, settings.GetValue<int>("Burst"));
        builder.Services.AddRateLimiter(options =>
        {
            options.AddPolicy(Policy, context => RateLimitPartition.GetTokenBucketLimiter(context.Connection.RemoteIpAddress?.ToString() ?? "", _ => bucket));
            options.OnRejected = async (rejected, cancellationToken) =>
            {
                var after = TokenBuckets.RetryAfter(rejected.Lease, bucket);
                rejected.HttpContext.Response.Headers.RetryAfter = TokenBuckets.RetryAfterHeader(after);
                await Results.Json(new { error = new { code = PubSubErrorCodes.RateLimited, message = $"Too many API requests from this address: at most {perSecond} per second." } },
                    statusCode: StatusCodes.Status429TooManyRequests).ExecuteAsync(rejected.HttpContext);
            };
        });
        return builder;
    }

    public static WebApplication UseApiRateLimitIfEnabled(this WebApplication app)
    {
        if (app.Configuration.GetSection(Section).GetValue<double>("PermitsPerSecond") > 0)
        {
            app.UseRateLimiter();
        }
        return app;
    }

    /// <summary>Puts the API's endpoints under the policy when it is enabled.</summary>
    public static IEndpointConventionBuilder WithApiRateLimitIfEnabled(this IEndpointConventionBuilder endpoints, IConfiguration configuration) =>
        configuration.GetSection(Section).GetValue<double>("PermitsPerSecond") > 0 ? endpoints.RequireRateLimiting(Policy) : endpoints;
}
