using Microsoft.AspNetCore.Http.Features;
using PubSub.Host;
using SignalRReference;

// Started by bench/run.sh with the same Kestrel defaults, logging, GC settings and core as
// PubSub.Host: --urls http://127.0.0.1:PORT --Logging:LogLevel:Default=None --Diagnostics:Enabled=true
// --Reference:WebSocketCompression=true offers permessage-deflate, as PubSub's
// --PubSub:WebSocketCompression=true does.
var builder = WebApplication.CreateBuilder(args);
// The Host's I/O scheduling, the same key and default (off: ASP.NET Core's own; --Host:InlineScheduling=true).
builder.UseInlineSchedulingIfEnabled();
builder.Services.AddSignalR().AddMessagePackProtocol();
builder.Services.AddHealthChecks();

var app = builder.Build();

if (app.Configuration.GetValue<bool>("Reference:WebSocketCompression"))
{
    // SignalR has no option for it; Blazor Server turns it on the same way, by the accept context.
    // MapHub runs UseWebSockets in the hub's own pipeline, which leaves a WebSocket feature that is
    // already there alone: so it is installed here, before the wrapper that allows compression.
    app.UseWebSockets();
    app.Use((context, next) =>
    {
        if (context.Features.Get<IHttpWebSocketFeature>() is { IsWebSocketRequest: true } feature)
        {
            context.Features.Set<IHttpWebSocketFeature>(new CompressingWebSocketFeature(feature));
        }
        return next(context);
    });
}

// WebSockets, Server-Sent Events and long-polling, SignalR's defaults; the JSON and the
// MessagePack hub protocols, chosen by each client's handshake.
app.MapHub<TopicHub>("/hub");
app.MapHealthChecks("/healthz");
app.MapDiagnosticsIfEnabled();

app.Run();
