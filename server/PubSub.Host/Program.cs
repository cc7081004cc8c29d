using PubSub;
using PubSub.Host;

var builder = WebApplication.CreateBuilder(new WebApplicationOptions
{
    Args = args,
    // appsettings.json (with the channel templates) and wwwroot sit beside the assembly. The default
    // content root, the working directory, would make `dotnet /srv/pubsub/PubSub.Host.dll` started
    // from anywhere else run without them, silently.
    ContentRootPath = AppContext.BaseDirectory,
});
// The build output has no copy of wwwroot: its static web assets manifest points at the project's
// folder, which is how `dotnet run` serves the demo page. A published node has wwwroot beside the
// assembly and no manifest, and this does nothing.
builder.WebHost.UseStaticWebAssets();
// WebSocket sessions leave Kestrel's HTTP/1.1 layer once their handshake has gone through the
// pipeline below: about 6 KB less per idle connection (docs/architecture.md, "WebSocket handoff").
builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(listen => listen.UsePubSubHandoff()));
// Host:InlineScheduling (opt-in): I/O continues on the thread that saw it, without a hop to the thread
// pool; docs/deployment.md, "Settings that matter in production", says what it risks.
builder.UseInlineSchedulingIfEnabled();

// Everything under "PubSub" in appsettings.json, or in environment variables such as
// PubSub__ApiKey and PubSub__Channels__0__Template, configures the node.
var pubsub = builder.Services.AddPubSub(options =>
{
    builder.Configuration.GetSection("PubSub").Bind(options);
    // Host:DemoNames: the demo chat's display names, from a `name` query parameter (demo only).
    options.UseDemoNamesIfEnabled(builder.Configuration);
});

// PubSub:Redis:Configuration (one Redis, a Sentinel service, or a Redis Cluster) or
// PubSub:Redis:Shards:0, :1, ... (several independent instances) make the node one of many that
// share channels through Redis; without either it runs alone, in memory. Environment variables:
// PubSub__Redis__Configuration=127.0.0.1:6379, PubSub__Redis__Mode=Cluster, PubSub__Redis__Shards__0=...
var redis = builder.Configuration.GetSection("PubSub:Redis");
if (!string.IsNullOrWhiteSpace(redis["Configuration"]) || redis.GetSection("Shards").GetChildren().Any())
{
    pubsub.AddRedisBroker(redis);
}

// /metrics for Prometheus (Host:Metrics; docs/deployment.md, "Metrics").
builder.AddMetricsIfEnabled();
// JWT bearer tokens when Authentication:Schemes:Bearer is configured (docs/deployment.md, "Token authentication").
builder.AddAuthenticationIfConfigured();
// Host:ApiRateLimit: the server API per client address (docs/deployment.md, "Limits").
builder.AddApiRateLimitIfEnabled();
// Host:ResponseCompression: gzip/Brotli for long-polling (and SSE if asked), off by default (docs/deployment.md, "Compression").
builder.AddResponseCompressionIfEnabled();
// The server API's OpenAPI description, at /openapi/v1.json.
builder.AddServerApiDocument();

var app = builder.Build();

// Off unless Host:ForwardedHeaders lists the proxies to trust: behind a TLS-terminating proxy the
// origin rule must see the site's https origin (docs/deployment.md). First, so all after it does.
app.UseForwardedHeadersIfConfigured();
app.UseResponseCompressionIfEnabled();
app.UseDefaultFiles();
app.UseStaticFiles();
app.UseAuthenticationIfConfigured("/pubsub");
app.MapPubSub("/pubsub");
app.UseApiRateLimitIfEnabled();
app.MapPubSubApi("/api").WithApiRateLimitIfEnabled(app.Configuration);
app.MapServerApiDocument();
// /healthz/live (the process answers), /healthz/ready and /healthz (the node can reach its broker:
// 503 with the reason as JSON while it cannot). Load balancers ask /healthz/ready.
app.MapPubSubHealthChecks("/healthz");
app.MapMetricsIfEnabled();
// Off by default: a live dashboard at /admin, its numbers behind the API key (Host:Admin).
app.MapAdminIfEnabled();
// Off by default: the load generator's memory readings (docs/benchmarks.md).
app.MapDiagnosticsIfEnabled();

app.Run();
