using System.Net;
using System.Text.Json;
using Xunit;

namespace PubSub.Testing;

/// <summary>
/// One raw protocol session on any transport, as a given user of the test scheme (the node needs
/// <see cref="TestAuthenticationExtensions.AddTestAuthentication"/>), for tests that run the same
/// steps on every transport (WebSocket and long-polling in both encodings): <c>[Theory, MemberData(nameof(RawSession.Transports), MemberType = typeof(RawSession))]</c>.
/// </summary>
public sealed class RawSession : IAsyncDisposable
{
    private readonly Func<string, Task<JsonElement>> _next;
    private readonly Func<string, Task> _subscribe;
    private readonly IAsyncDisposable _client;

    private RawSession(string transport, string sessionId, Func<string, Task<JsonElement>> next, Func<string, Task> subscribe, IAsyncDisposable client, object raw)
    {
        Transport = transport;
        SessionId = sessionId;
        _next = next;
        _subscribe = subscribe;
        _client = client;
        Raw = raw;
    }

    public static TheoryData<string> Transports => new() { "websocket", "sse", "long-polling", "websocket/msgpack", "long-polling/msgpack" };

    public string Transport { get; }

    public string SessionId { get; }

    /// <summary>The transport's own client: <see cref="WsClient"/>, <see cref="SseClient"/> or <see cref="PollClient"/>.</summary>
    public object Raw { get; }

    /// <summary>Opens a session on <paramref name="node"/> as <paramref name="user"/>.</summary>
    public static async Task<RawSession> OpenAsync(Uri node, string transport, string user)
    {
        var msgpack = transport.EndsWith("/msgpack", StringComparison.Ordinal);
        switch (transport)
        {
            case "websocket" or "websocket/msgpack":
                var ws = await WsClient.ConnectAsync(new Uri($"ws://{node.Authority}/pubsub/ws"), msgpack ? MessagePackFrames.Subprotocol : "pubsub.json",
                    configure: options => options.SetRequestHeader(TestAuthenticationHandler.UserHeader, user));
                return new RawSession(transport, ws.SessionId, type => ws.NextOfTypeAsync(type, Skip(type)), async channel => await ws.SubscribeAsync(channel), ws, ws);
            case "sse":
                var sse = await SseClient.ConnectAsync(node, configure: request => request.Headers.Add(TestAuthenticationHandler.UserHeader, user));
                return new RawSession(transport, sse.SessionId, async type => (await sse.NextOfTypeAsync(type, Skip(type))).Frame, async channel =>
                {
                    using var http = new HttpClient { BaseAddress = node, Timeout = Timeouts.Default };
                    Assert.Equal(HttpStatusCode.NoContent, await SseClient.SendToAsync(http, sse.SessionId, [new { type = "subscribe", id = 1, channel }],
                        request => request.Headers.Add(TestAuthenticationHandler.UserHeader, user)));
                    await sse.NextOfTypeAsync("reply", "ping");
                }, sse, sse);
            default:
                var poll = await PollClient.OpenAsync(node, msgpack ? "?encoding=msgpack" : "", configure: client => client.Headers[TestAuthenticationHandler.UserHeader] = user);
                return new RawSession(transport, poll.SessionId, type => poll.NextOfTypeAsync(type, Skip(type)), async channel =>
                {
                    Assert.Equal(HttpStatusCode.NoContent, await poll.SendAsync(new { type = "subscribe", id = 1, channel }));
                    await poll.NextOfTypeAsync("reply", "ping");
                }, new Disposing(poll), poll);
        }
    }

    private static string[] Skip(string type) => [.. new[] { "ping", "pong", "reply", "message", "subscribed" }.Where(t => t != type)];

    /// <summary>Subscribes with a client frame and waits for the reply.</summary>
    public Task SubscribeAsync(string channel) => _subscribe(channel);

    /// <summary>The next frame of <paramref name="type"/>, skipping others.</summary>
    public Task<JsonElement> NextOfTypeAsync(string type) => _next(type);

    public ValueTask DisposeAsync() => _client.DisposeAsync();

    private sealed class Disposing(IDisposable inner) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            inner.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
