using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace PubSub.Client.Tests.Support;

/// <summary>For a node's <c>map:</c>: refuses WebSocket upgrades (503) until <see cref="Allow"/>, so a client falls back and later probes its way back up.</summary>
internal sealed class WebSocketRefusal
{
    private int _refusing = 1;

    public void Allow() => Volatile.Write(ref _refusing, 0);

    /// <summary>Maps the PubSub endpoints at /pubsub behind the refusal.</summary>
    public void Map(WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            if (Volatile.Read(ref _refusing) == 1 && context.Request.Path.StartsWithSegments("/pubsub/ws"))
            {
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                return;
            }
            await next(context);
        });
        app.MapPubSub("/pubsub");
    }
}
