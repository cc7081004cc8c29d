using PubSub.Host;
using SignalRReference;

// Started by bench/run.sh with the same Kestrel defaults, logging, GC settings and core as
// PubSub.Host: --urls http://127.0.0.1:PORT --Logging:LogLevel:Default=None --Diagnostics:Enabled=true
var builder = WebApplication.CreateBuilder(args);
builder.Services.AddSignalR();
builder.Services.AddHealthChecks();

var app = builder.Build();

// WebSockets, Server-Sent Events and long-polling, SignalR's defaults; JSON hub protocol.
app.MapHub<TopicHub>("/hub");
app.MapHealthChecks("/healthz");
app.MapDiagnosticsIfEnabled();

app.Run();
