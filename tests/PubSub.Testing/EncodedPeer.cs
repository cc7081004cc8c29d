using System.Text.Json;
using Xunit;

namespace PubSub.Testing;

/// <summary>
/// A protocol client on any transport in any encoding it can carry (docs/protocol.md, section 6.3),
/// behind one face, so that one scenario runs on every combination: <c>websocket/json</c>,
/// <c>websocket/msgpack</c>, <c>long-polling/json</c>, <c>long-polling/msgpack</c>, <c>sse/json</c>.
/// Frames read as JSON whatever the encoding (<see cref="MessagePackFrames"/>).
/// </summary>
public sealed class EncodedPeer : IAsyncDisposable
{
    /// <summary>Every transport and encoding that exists.</summary>
    public static readonly string[] Kinds = ["websocket/json", "websocket/msgpack", "long-polling/json", "long-polling/msgpack", "sse/json"];

    private readonly Func<object, Task> _send;
    private readonly Func<Task<JsonElement>> _next;
    private readonly Func<ValueTask> _dispose;
    private readonly Queue<JsonElement> _stash = new();
    private long _nextId;

    private EncodedPeer(string kind, JsonElement connected, Func<object, Task> send, Func<Task<JsonElement>> next, Func<ValueTask> dispose)
    {
        Kind = kind;
        Connected = connected;
        _send = send;
        _next = next;
        _dispose = dispose;
    }

    public static TheoryData<string> AllKinds => [.. Kinds];

    public string Kind { get; }

    public JsonElement Connected { get; }

    public static async Task<EncodedPeer> OpenAsync(TestNode node, string kind)
    {
        switch (kind)
        {
            case "websocket/json":
            case "websocket/msgpack":
                var ws = await WsClient.ConnectAsync(node.WebSocketUri, kind.EndsWith("msgpack", StringComparison.Ordinal) ? MessagePackFrames.Subprotocol : "pubsub.json");
                Assert.Equal(kind.EndsWith("msgpack", StringComparison.Ordinal), ws.MessagePack);
                return new(kind, ws.Connected, ws.SendAsync, () => ws.NextAsync(), ws.DisposeAsync);
            case "long-polling/json":
            case "long-polling/msgpack":
                var poll = await PollClient.OpenAsync(node.BaseUri, kind.EndsWith("msgpack", StringComparison.Ordinal) ? "?encoding=msgpack" : "");
                Assert.Equal(kind.EndsWith("msgpack", StringComparison.Ordinal), poll.MessagePack);
                return new(kind, poll.Connected, async frame => Assert.Equal(System.Net.HttpStatusCode.NoContent, await poll.SendAsync(frame)), poll.NextAsync, () =>
                {
                    poll.Dispose();
                    return ValueTask.CompletedTask;
                });
            case "sse/json":
                var sse = await SseClient.ConnectAsync(node.BaseUri);
                return new(kind, sse.Connected.Frame, async frame => Assert.Equal(System.Net.HttpStatusCode.NoContent, await sse.SendAsync(frame)), async () => (await sse.NextAsync()).Frame, sse.DisposeAsync);
            default:
                throw new ArgumentException($"No such kind: {kind}.", nameof(kind));
        }
    }

    public Task SendAsync(object frame) => _send(frame);

    /// <summary>Sends a request with a fresh id and returns its reply; frames before it stay for <see cref="NextAsync"/>.</summary>
    public async Task<JsonElement> RequestAsync(Dictionary<string, object?> frame)
    {
        var id = Interlocked.Increment(ref _nextId);
        frame["id"] = id;
        await _send(frame);
        var skipped = new List<JsonElement>();
        while (true)
        {
            var next = await _next();
            if (next.GetProperty("type").GetString() == "reply" && next.GetProperty("id").GetInt64() == id)
            {
                foreach (var before in skipped)
                {
                    _stash.Enqueue(before);
                }
                return next;
            }
            skipped.Add(next);
        }
    }

    /// <summary>A request that must succeed: its result.</summary>
    public async Task<JsonElement> ResultAsync(Dictionary<string, object?> frame)
    {
        var reply = await RequestAsync(frame);
        Assert.True(reply.TryGetProperty("result", out var result), $"{Kind}: {frame["type"]} failed: {reply}");
        return result;
    }

    public Task<JsonElement> SubscribeAsync(string channel, JsonElement? since = null) =>
        ResultAsync(since is { } position
            ? new() { ["type"] = "subscribe", ["channel"] = channel, ["since"] = new { epoch = position.GetProperty("epoch").GetString(), offset = position.GetProperty("offset").GetInt64() } }
            : new() { ["type"] = "subscribe", ["channel"] = channel });

    public Task<JsonElement> NextAsync() => _stash.TryDequeue(out var frame) ? Task.FromResult(frame) : _next();

    /// <summary>The next <c>message</c> frame; pings and pongs in between are skipped.</summary>
    public async Task<JsonElement> NextMessageAsync()
    {
        while (true)
        {
            var frame = await NextAsync();
            var type = frame.GetProperty("type").GetString();
            if (type == "message")
            {
                return frame;
            }
            Assert.True(type is "ping" or "pong", $"{Kind}: expected a message, got {frame}");
        }
    }

    public ValueTask DisposeAsync() => _dispose();
}
