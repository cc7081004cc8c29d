using System.Net.WebSockets;
using Microsoft.AspNetCore.Http.Features;

namespace SignalRReference;

/// <summary>Accepts WebSockets with permessage-deflate allowed, for clients that offer it.</summary>
internal sealed class CompressingWebSocketFeature(IHttpWebSocketFeature inner) : IHttpWebSocketFeature
{
    public bool IsWebSocketRequest => inner.IsWebSocketRequest;

    public Task<WebSocket> AcceptAsync(WebSocketAcceptContext context)
    {
        context.DangerousEnableCompression = true;
        return inner.AcceptAsync(context);
    }
}
