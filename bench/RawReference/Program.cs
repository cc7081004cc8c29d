using PubSub.Host;
using RawReference;

// Started by bench/run.sh like the other two servers: --urls http://127.0.0.1:PORT
// --Logging:LogLevel:Default=None --Diagnostics:Enabled=true, on the same core.
// --Reference:Handshake=connection answers the WebSocket upgrade below Kestrel's HTTP layer
// (ConnectionUpgrade), to measure what a connection costs without it.
var builder = WebApplication.CreateBuilder(args);
builder.Services.AddHealthChecks();
builder.Services.AddSingleton<Broadcaster>();
if (builder.Configuration["Reference:Handshake"] == "connection")
{
    builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(listen =>
        listen.UseWebSocketUpgradeBeforeHttp(() => kestrel.ApplicationServices.GetRequiredService<Broadcaster>())));
}

var app = builder.Build();
app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.Zero });
app.Map("/ws", (HttpContext context, Broadcaster broadcaster) => broadcaster.HandleAsync(context));
app.MapHealthChecks("/healthz");
app.MapDiagnosticsIfEnabled();

app.Run();
