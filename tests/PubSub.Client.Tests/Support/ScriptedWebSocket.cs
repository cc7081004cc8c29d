using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace PubSub.Client.Tests.Support;

/// <summary>A real node with a middleman in front of its WebSocket endpoint that answers the first connection with a script.</summary>
internal static class ScriptedWebSocket
{
    public const string Connected = """{"type":"connected","session":"fake.AAAAAAAAAAAAAAAAAAAAAA","node":"fake","version":1,"transport":"websocket","ping":25}""";

    /// <summary>
    /// A node whose first WebSocket connection is answered by <paramref name="messages"/> (then,
    /// optionally, <paramref name="script"/>) instead of the real endpoint; later ones reach the node.
    /// </summary>
    public static Task<TestNode> StartNodeAsync(
        string[] messages, bool binaryLast = false, bool holdOpen = false, Func<WebSocket, Func<Task<string>>, Task>? script = null)
    {
        var served = 0;
        return TestNode.StartAsync(map: app =>
        {
            app.UseWebSockets();
            app.Use(async (context, next) =>
            {
                if (context.Request.Path != "/pubsub/ws" || !context.WebSockets.IsWebSocketRequest || Interlocked.Increment(ref served) > 1)
                {
                    await next(context);
                    return;
                }
                using var socket = await context.WebSockets.AcceptWebSocketAsync("pubsub.json");
                for (var i = 0; i < messages.Length; i++)
                {
                    var binary = binaryLast && i == messages.Length - 1;
                    await socket.SendAsync(Encoding.UTF8.GetBytes(messages[i]), binary ? WebSocketMessageType.Binary : WebSocketMessageType.Text, true, context.RequestAborted);
                }
                if (script is not null)
                {
                    await script(socket, () => ReceiveTextAsync(socket, context.RequestAborted));
                }
                if (script is not null || holdOpen)
                {
                    // Until the client goes away.
                    await ReceiveTextAsync(socket, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                    while (socket.State == WebSocketState.Open)
                    {
                        await ReceiveTextAsync(socket, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                    }
                }
            });
            app.MapPubSub("/pubsub");
        });
    }

    public static Task SendAsync(WebSocket socket, string text) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

    public static async Task<string> ReceiveTextAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        var length = 0;
        WebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(new ArraySegment<byte>(buffer, length, buffer.Length - length), cancellationToken);
            length += result.Count;
        }
        while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);
        return Encoding.UTF8.GetString(buffer, 0, length);
    }
}
