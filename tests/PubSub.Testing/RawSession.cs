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
    private readonly Func<object, Task> _send;
    private readonly IAsyncDisposable _client;
    private long _nextId = 1;

    private RawSession(string transport, string sessionId, Func<string, Task<JsonElement>> next, Func<object, Task> send, IAsyncDisposable client, object raw)
    {
        Transport = transport;
        SessionId = sessionId;
        _next = next;
        _send = send;
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
                return new RawSession(transport, ws.SessionId, type => ws.NextOfTypeAsync(type, Skip(type)), ws.SendAsync, ws, ws);
            case "sse":
                var sse = await SseClient.ConnectAsync(node, configure: request => request.Headers.Add(TestAuthenticationHandler.UserHeader, user));
                return new RawSession(transport, sse.SessionId, async type => (await sse.NextOfTypeAsync(type, Skip(type))).Frame, async frame =>
                {
                    using var http = new HttpClient { BaseAddress = node, Timeout = Timeouts.Default };
                    Assert.Equal(HttpStatusCode.NoContent, await SseClient.SendToAsync(http, sse.SessionId, [frame],
                        request => request.Headers.Add(TestAuthenticationHandler.UserHeader, user)));
                }, sse, sse);
            default:
                var poll = await PollClient.OpenAsync(node, msgpack ? "?encoding=msgpack" : "", configure: client => client.Headers[TestAuthenticationHandler.UserHeader] = user);
                return new RawSession(transport, poll.SessionId, type => poll.NextOfTypeAsync(type, Skip(type)), async frame =>
                {
                    Assert.Equal(HttpStatusCode.NoContent, await poll.SendAsync(frame));
                }, new Disposing(poll), poll);
        }
    }

    private static string[] Skip(string type) => [.. new[] { "ping", "pong", "reply", "message", "subscribed", "join", "leave" }.Where(t => t != type)];

    /// <summary>Subscribes with a client frame and waits for the reply, which must be a success.</summary>
    public async Task SubscribeAsync(string channel)
    {
        var reply = await RequestAsync("subscribe", channel);
        Assert.True(reply.TryGetProperty("result", out _), $"The subscribe to '{channel}' failed: {reply}");
    }

    /// <summary>
    /// Sends a request of <paramref name="type"/> for <paramref name="channel"/> with the next id and
    /// returns its reply (skipping other frames): its <c>result</c> or its <c>error</c>.
    /// </summary>
    public async Task<JsonElement> RequestAsync(string type, string channel)
    {
        var id = _nextId++;
        await _send(new Dictionary<string, object?> { ["type"] = type, ["id"] = id, ["channel"] = channel });
        while (true)
        {
            var reply = await _next("reply");
            if (reply.GetProperty("id").GetInt64() == id)
            {
                return reply;
            }
        }
    }

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
