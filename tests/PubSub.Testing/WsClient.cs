using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Xunit;

namespace PubSub.Testing;

/// <summary>
/// A bare protocol-v1 client over a real <see cref="ClientWebSocket"/>, for tests that check what
/// exactly goes over the wire. Frames are read in the background and handed out in order; reading
/// can be paused, so that the kernel's buffers fill as they would for a client that stops reading.
/// </summary>
public sealed class WsClient : IAsyncDisposable
{
    private readonly WebSocket _socket;
    private readonly Channel<JsonElement> _frames = Channel.CreateUnbounded<JsonElement>();
    private readonly bool _answerPings;
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _sendLock = new(1, 1);

    // Frames that arrived while a request waited for its reply; NextAsync hands them out first.
    private readonly Queue<JsonElement> _stash = new();
    private TaskCompletionSource _resume = CompletedSource();
    private long _nextId;
    private Task? _receiving;

    private WsClient(WebSocket socket, bool answerPings)
    {
        _socket = socket;
        _answerPings = answerPings;
        MessagePack = socket.SubProtocol == MessagePackFrames.Subprotocol;
    }

    /// <summary>On <c>pubsub.msgpack</c>: frames go out and come in as MessagePack, and the test reads them as JSON all the same.</summary>
    public bool MessagePack { get; }

    /// <summary>The <c>connected</c> frame.</summary>
    public JsonElement Connected { get; private set; }

    public string SessionId => Connected.GetProperty("session").GetString()!;

    /// <summary>WebSocket messages received so far (each holds one or more frames).</summary>
    public int MessagesReceived { get; private set; }

    /// <summary>Completes when the server's close frame arrives or the connection drops.</summary>
    public Task Closed => _closed.Task;

    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    public string? CloseStatusDescription => _socket.CloseStatusDescription;

    /// <summary>A header of the server's upgrade answer, or null; needs <see cref="ClientWebSocketOptions.CollectHttpResponseDetails"/>.</summary>
    public string? ResponseHeader(string name) =>
        (_socket as ClientWebSocket)?.HttpResponseHeaders?.FirstOrDefault(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Value is { } values
            ? string.Join(", ", values)
            : null;

    /// <summary>
    /// The extensions the server accepted in its upgrade answer (<c>Sec-WebSocket-Extensions</c>),
    /// or "" when none; needs <see cref="ClientWebSocketOptions.CollectHttpResponseDetails"/>.
    /// </summary>
    public string Extensions => ResponseHeader("Sec-WebSocket-Extensions") ?? "";

    public static async Task<WsClient> ConnectAsync(Uri uri, string? subprotocol = "pubsub.json", bool answerPings = true, Action<ClientWebSocketOptions>? configure = null)
    {
        var socket = new ClientWebSocket();
        if (subprotocol is not null)
        {
            socket.Options.AddSubProtocol(subprotocol);
        }
        configure?.Invoke(socket.Options);
        await socket.ConnectAsync(uri, CancellationToken.None).WithTimeout("the WebSocket handshake");
        return await OverAsync(socket, answerPings);
    }

    /// <summary>A protocol client on a WebSocket opened some other way; waits for <c>connected</c>.</summary>
    public static async Task<WsClient> OverAsync(WebSocket socket, bool answerPings = true)
    {
        var client = new WsClient(socket, answerPings);
        client._receiving = client.ReceiveLoopAsync();
        client.Connected = await client.NextAsync();
        Assert.Equal("connected", client.Connected.GetProperty("type").GetString());
        return client;
    }

    /// <summary>
    /// Attempts a WebSocket upgrade that the server is expected to refuse: the HTTP status and the
    /// response headers it refused with. Fails the test if the upgrade succeeds.
    /// </summary>
    public static async Task<(HttpStatusCode Status, HttpResponseHeaders Headers)> RefusedUpgradeAsync(Uri uri, Action<ClientWebSocketOptions>? configure = null)
    {
        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("pubsub.json");
        socket.Options.CollectHttpResponseDetails = true;
        configure?.Invoke(socket.Options);
        var refused = await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(uri, CancellationToken.None).WithTimeout("the refused WebSocket handshake"));
        var headers = new HttpResponseMessage().Headers;
        foreach (var (name, values) in socket.HttpResponseHeaders ?? new Dictionary<string, IEnumerable<string>>())
        {
            headers.TryAddWithoutValidation(name, values);
        }
        Assert.True(socket.HttpStatusCode != 0, $"no HTTP status: {refused.Message}");
        return (socket.HttpStatusCode, headers);
    }

    /// <summary>Sends one text message as is.</summary>
    public async Task SendRawAsync(string text, WebSocketMessageType type = WebSocketMessageType.Text)
    {
        await _sendLock.WaitAsync();
        try
        {
            await _socket.SendAsync(Encoding.UTF8.GetBytes(text), type, endOfMessage: true, CancellationToken.None);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Sends one message of raw bytes.</summary>
    public Task SendBytesAsync(byte[] message, WebSocketMessageType type = WebSocketMessageType.Binary) =>
        SendFragmentAsync(message, endOfMessage: true, type);

    /// <summary>Sends one fragment of a message; the message ends with the fragment that says so.</summary>
    public async Task SendFragmentAsync(ReadOnlyMemory<byte> fragment, bool endOfMessage, WebSocketMessageType type = WebSocketMessageType.Text)
    {
        await _sendLock.WaitAsync();
        try
        {
            await _socket.SendAsync(fragment, type, endOfMessage, CancellationToken.None);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Sends a frame (serialized from an anonymous object) in the session's encoding.</summary>
    public Task SendAsync(object frame) => MessagePack ? SendBytesAsync(MessagePackFrames.Encode(frame)) : SendRawAsync(JsonSerializer.Serialize(frame));

    /// <summary>
    /// Sends a request with a fresh id and returns its reply. Frames that arrive before the reply
    /// stay queued, in order, for <see cref="NextAsync"/>: no frame is lost to the test.
    /// </summary>
    public async Task<JsonElement> RequestAsync(Dictionary<string, object?> frame)
    {
        var id = Interlocked.Increment(ref _nextId);
        frame["id"] = id;
        await SendAsync(frame);
        var skipped = new List<JsonElement>();
        try
        {
            while (true)
            {
                var next = await ReadAsync(null);
                if (next.GetProperty("type").GetString() == "reply" && next.TryGetProperty("id", out var replyId) && replyId.GetInt64() == id)
                {
                    return next;
                }
                skipped.Add(next);
            }
        }
        finally
        {
            foreach (var frameBefore in skipped)
            {
                _stash.Enqueue(frameBefore);
            }
        }
    }

    /// <summary>Subscribes and returns the reply's result; fails if the reply is an error.</summary>
    public async Task<JsonElement> SubscribeAsync(string channel, string? epoch = null, long? offset = null)
    {
        var frame = new Dictionary<string, object?> { ["type"] = "subscribe", ["channel"] = channel };
        if (epoch is not null)
        {
            frame["since"] = new { epoch, offset };
        }
        var reply = await RequestAsync(frame);
        Assert.True(reply.TryGetProperty("result", out var result), $"subscribe to {channel} failed: {reply}");
        return result;
    }

    public async Task<JsonElement> PublishAsync(string channel, object data)
    {
        var reply = await RequestAsync(new() { ["type"] = "publish", ["channel"] = channel, ["data"] = data });
        Assert.True(reply.TryGetProperty("result", out var result), $"publish to {channel} failed: {reply}");
        return result;
    }

    /// <summary>
    /// A round trip that proves the session is alive and has handled everything sent before it,
    /// except publishes, whose replies may still be on their way (they are pipelined).
    /// </summary>
    public async Task PingAsync()
    {
        var reply = await RequestAsync(new() { ["type"] = "ping" });
        Assert.True(reply.TryGetProperty("result", out _), $"ping failed: {reply}");
    }

    /// <summary>The next frame, in arrival order.</summary>
    public Task<JsonElement> NextAsync(TimeSpan? timeout = null) =>
        _stash.TryDequeue(out var stashed) ? Task.FromResult(stashed) : ReadAsync(timeout);

    private async Task<JsonElement> ReadAsync(TimeSpan? timeout)
    {
        try
        {
            return await _frames.Reader.ReadAsync().AsTask().WithTimeout("the next frame", timeout);
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException($"The connection closed ({CloseStatus} {CloseStatusDescription}) before the next frame.");
        }
    }

    /// <summary>The next frame of the given type; frames of other types in between must be listed in <paramref name="skipping"/>.</summary>
    public Task<JsonElement> NextOfTypeAsync(string type, params string[] skipping) =>
        FrameReader.NextOfTypeAsync(() => NextAsync(), f => f.GetProperty("type").GetString(), type, skipping);

    /// <summary>The next <paramref name="count"/> <c>message</c> frames.</summary>
    public Task<List<JsonElement>> MessagesAsync(int count) => FrameReader.MessagesAsync(type => NextOfTypeAsync(type), count);

    /// <summary>Stops reading from the socket: the server's writes back up into the kernel's buffers.</summary>
    public void PauseReading() => Interlocked.Exchange(ref _resume, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public void ResumeReading() => _resume.TrySetResult();

    public async Task CloseAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
        }
        await Closed.WithTimeout("the close handshake");
    }

    /// <summary>Drops the TCP connection without a close handshake, as a crashed client or a cut network would.</summary>
    public void Abort() => _socket.Abort();

    public async ValueTask DisposeAsync()
    {
        _resume.TrySetResult();
        _socket.Abort();
        if (_receiving is not null)
        {
            await _receiving;
        }
        _socket.Dispose();
        _sendLock.Dispose();
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[64 * 1024];
        var message = new MemoryStream();
        try
        {
            while (true)
            {
                await _resume.Task;
                var result = await _socket.ReceiveAsync(buffer, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    if (_socket.State == WebSocketState.CloseReceived)
                    {
                        await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    }
                    return;
                }
                message.Write(buffer, 0, result.Count);
                if (!result.EndOfMessage)
                {
                    continue;
                }
                MessagesReceived++;
                var frames = result.MessageType == WebSocketMessageType.Binary
                    ? MessagePackFrames.Decode(message.GetBuffer().AsMemory(0, (int)message.Length))
                    : [.. Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length).Split('\n').Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<JsonElement>(l))];
                foreach (var frame in frames)
                {
                    if (_answerPings && frame.GetProperty("type").GetString() == "ping")
                    {
                        await SendAsync(new { type = "pong" });
                    }
                    _frames.Writer.TryWrite(frame);
                }
                message.SetLength(0);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        finally
        {
            _frames.Writer.TryComplete();
            _closed.TrySetResult();
        }
    }

    private static TaskCompletionSource CompletedSource()
    {
        var source = new TaskCompletionSource();
        source.SetResult();
        return source;
    }
}
