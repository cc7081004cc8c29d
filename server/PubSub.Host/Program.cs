using PubSub;
using PubSub.Host;

var builder = WebApplication.CreateBuilder(args);

// Everything under "PubSub" in appsettings.json, or in environment variables such as
// PubSub__ApiKey and PubSub__Channels__0__Template, configures the node.
builder.Services.AddPubSub(options => builder.Configuration.GetSection("PubSub").Bind(options));
builder.Services.AddHealthChecks();

var app = builder.Build();

app.UseDefaultFiles();
app.UseStaticFiles();
app.MapPubSub("/pubsub");
app.MapPubSubApi("/api");
app.MapHealthChecks("/healthz");
// Off by default: the load generator's memory readings (docs/benchmarks.md).
app.MapDiagnosticsIfEnabled();

app.Run();
