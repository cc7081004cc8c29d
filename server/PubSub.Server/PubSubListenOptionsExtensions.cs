using Microsoft.AspNetCore.Server.Kestrel.Core;
using PubSub.Transports;

namespace Microsoft.AspNetCore.Hosting;

/// <summary>Kestrel connection middleware for PubSub.</summary>
public static class PubSubListenOptionsExtensions
{
    /// <summary>
    /// Lets PubSub's WebSocket sessions on this endpoint leave Kestrel's HTTP/1.1 layer once their
    /// handshake request has gone through the pipeline, so an idle connection holds about 6 KB less
    /// (docs/architecture.md, "WebSocket handoff"). Without it, sessions upgrade inside the request
    /// and behave the same. Call it before <c>UseHttps</c> on an HTTPS endpoint and TLS connections
    /// upgrade inside the request; after it, they are handed over too. For every endpoint:
    /// <c>builder.WebHost.ConfigureKestrel(k =&gt; k.ConfigureEndpointDefaults(l =&gt; l.UsePubSubHandoff()))</c>.
    /// </summary>
    public static ListenOptions UsePubSubHandoff(this ListenOptions listen)
    {
        ArgumentNullException.ThrowIfNull(listen);
        listen.Use(next => connection => WebSocketHandoff.OnConnectionAsync(connection, next));
        return listen;
    }
}
