using OpenTelemetry.Metrics;

namespace PubSub.Host;

/// <summary>
/// <c>GET /metrics</c> in Prometheus' text format: the PubSub meter (docs/deployment.md lists its
/// instruments) with ASP.NET Core's (hosting, rate limiting), Kestrel's and the runtime's. On unless
/// <c>Host:Metrics:Enabled</c> is false; callers send the API key (Prometheus:
/// <c>authorization: { credentials: ... }</c>), unless <c>Host:Metrics:AllowAnonymous</c> is true
/// for a node whose port only the scraper can reach.
/// </summary>
internal static class HostMetrics
{
    private const string Section = "Host:Metrics";

    private static readonly string[] Meters =
    [
        PubSubTelemetry.MeterName,
        "Microsoft.AspNetCore.Hosting",
        "Microsoft.AspNetCore.Server.Kestrel",
        // The server API's rate limiter (Host:ApiRateLimit): requests it let through and refused.
        "Microsoft.AspNetCore.RateLimiting",
        "System.Runtime",
    ];

    public static void AddMetricsIfEnabled(this WebApplicationBuilder builder)
    {
        if (!Enabled(builder.Configuration))
        {
            return;
        }
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(Meters).AddPrometheusExporter());
    }

    public static void MapMetricsIfEnabled(this WebApplication app)
    {
        if (!Enabled(app.Configuration))
        {
            return;
        }
        var endpoint = app.MapPrometheusScrapingEndpoint(app.Configuration[$"{Section}:Path"] ?? "/metrics");
        if (!app.Configuration.GetValue<bool>($"{Section}:AllowAnonymous"))
        {
            endpoint.RequirePubSubApiKey();
        }
    }

    private static bool Enabled(IConfiguration configuration) => configuration.GetValue($"{Section}:Enabled", defaultValue: true);
}
