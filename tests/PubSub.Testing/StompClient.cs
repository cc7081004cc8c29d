using System.Net.WebSockets;
using System.Text;
using System.Threading.Channels;
using Xunit;

namespace PubSub.Testing;

/// <summary>A STOMP frame as <see cref="StompClient"/> read it: command, headers (first value of each), body.</summary>
public sealed record StompTestFrame(string Command, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public string BodyText => Encoding.UTF8.GetString(Body);

    public string? this[string header] => Headers.GetValueOrDefault(header);

    public override string ToString() => $"{Command} {string.Join(" ", Headers.Select(h => $"{h.Key}:{h.Value}"))} [{BodyText}]";
}

/// <summary>
/// A bare STOMP client over a real <see cref="ClientWebSocket"/>, for tests that check what goes
/// over the wire. It writes what the test gives it as is, and reads with a reader of its own
/// (not the server's), kept small: frames with or without <c>content-length</c>, 1.2 escapes,
/// heart-beat EOLs counted apart.
/// </summary>
public sealed class StompClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket;
    private readonly Channel<StompTestFrame> _frames = Channel.CreateUnbounded<StompTestFrame>();
    private readonly Channel<bool> _heartBeats = Channel.CreateUnbounded<bool>();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private Task? _receiving;

    private StompClient(ClientWebSocket socket) => _socket = socket;

    /// <summary>Completes when the server's close frame arrives or the connection drops.</summary>
    public Task Closed => _closed.Task;

    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    public string? SubProtocol => _socket.SubProtocol;

    /// <summary>The kinds of WebSocket message that carried frames so far.</summary>
    public HashSet<WebSocketMessageType> MessageTypes { get; } = [];

    /// <summary>Opens the socket with <paramref name="subprotocol"/>; sends nothing.</summary>
    public static async Task<StompClient> OpenAsync(Uri uri, string subprotocol = "v12.stomp", Action<ClientWebSocketOptions>? configure = null)
    {
        var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol(subprotocol);
        configure?.Invoke(socket.Options);
        await socket.ConnectAsync(uri, CancellationToken.None).WithTimeout("the WebSocket handshake");
        var client = new StompClient(socket);
        client._receiving = client.ReceiveLoopAsync();
        return client;
    }

    /// <summary>Opens the socket, sends CONNECT (1.2, no heart-beats unless asked) and returns the client with its CONNECTED frame.</summary>
    public static async Task<(StompClient Client, StompTestFrame Connected)> ConnectAsync(Uri uri, string heartBeat = "0,0", Action<ClientWebSocketOptions>? configure = null)
    {
        var client = await OpenAsync(uri, configure: configure);
        await client.SendAsync($"CONNECT\naccept-version:1.2\nhost:localhost\nheart-beat:{heartBeat}\n\n\0");
        var connected = await client.NextAsync();
        Assert.True(connected.Command == "CONNECTED", connected.ToString());
        return (client, connected);
    }

    /// <summary>Sends one text message as is (one or more frames, or anything else).</summary>
    public Task SendAsync(string wire, WebSocketMessageType type = WebSocketMessageType.Text) => SendBytesAsync(Encoding.UTF8.GetBytes(wire), type);

    public async Task SendBytesAsync(byte[] message, WebSocketMessageType type = WebSocketMessageType.Text)
    {
        await _sendLock.WaitAsync();
        try
        {
            await _socket.SendAsync(message, type, endOfMessage: true, CancellationToken.None).WithTimeout("a send");
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>The next frame (heart-beats are not frames).</summary>
    public async Task<StompTestFrame> NextAsync(string what = "the next STOMP frame") =>
        await _frames.Reader.ReadAsync().AsTask().WithTimeout(what);

    /// <summary>The next frame whose command is <paramref name="command"/>; fails on any other frame first.</summary>
    public async Task<StompTestFrame> ExpectAsync(string command)
    {
        var frame = await NextAsync($"a {command} frame");
        Assert.True(frame.Command == command, $"expected {command}, got {frame}");
        return frame;
    }

    /// <summary>Waits for the next heart-beat (an EOL between frames) from the server.</summary>
    public Task WaitForHeartBeatAsync() => _heartBeats.Reader.ReadAsync().AsTask().WithTimeout("a heart-beat from the server");

    /// <summary>Whether a frame is waiting (without waiting for one).</summary>
    public bool TryPeekFrame(out StompTestFrame? frame) => _frames.Reader.TryPeek(out frame);

    private async Task ReceiveLoopAsync()
    {
        try
        {
            var buffer = new byte[64 * 1024];
            while (true)
            {
                using var message = new MemoryStream();
                ValueWebSocketReceiveResult result;
                do
                {
                    result = await _socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        return;
                    }
                    message.Write(buffer, 0, result.Count);
                }
                while (!result.EndOfMessage);
                MessageTypes.Add(result.MessageType);
                Parse(message.ToArray());
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

    private void Parse(byte[] message)
    {
        var at = 0;
        while (at < message.Length)
        {
            if (message[at] is (byte)'\n' or (byte)'\r')
            {
                if (message[at] == '\n')
                {
                    _heartBeats.Writer.TryWrite(true);
                }
                at++;
                continue;
            }
            var headerEnd = IndexOf(message, "\n\n"u8, at);
            Assert.True(headerEnd >= 0, "a frame from the server without the empty line after its headers");
            var lines = Encoding.UTF8.GetString(message, at, headerEnd - at).Split('\n');
            var headers = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var line in lines.Skip(1))
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                headers.TryAdd(Unescape(line[..colon]), Unescape(line[(colon + 1)..]));
            }
            var bodyStart = headerEnd + 2;
            var length = headers.TryGetValue("content-length", out var declared)
                ? int.Parse(declared, System.Globalization.CultureInfo.InvariantCulture)
                : Array.IndexOf(message, (byte)0, bodyStart) - bodyStart;
            Assert.True(message[bodyStart + length] == 0, "a frame from the server whose body is not followed by NUL");
            _frames.Writer.TryWrite(new StompTestFrame(lines[0], headers, message[bodyStart..(bodyStart + length)]));
            at = bodyStart + length + 1;
        }
    }

    private static int IndexOf(byte[] message, ReadOnlySpan<byte> value, int from)
    {
        var found = message.AsSpan(from).IndexOf(value);
        return found < 0 ? -1 : from + found;
    }

    private static string Unescape(string text) =>
        text.Replace(@"\\", "\u0001", StringComparison.Ordinal).Replace(@"\n", "\n", StringComparison.Ordinal)
            .Replace(@"\r", "\r", StringComparison.Ordinal).Replace(@"\c", ":", StringComparison.Ordinal)
            .Replace("\u0001", "\\", StringComparison.Ordinal);

    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            try
            {
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
            }
            catch (Exception e) when (e is WebSocketException or TimeoutException or ObjectDisposedException)
            {
            }
        }
        _socket.Abort();
        if (_receiving is not null)
        {
            await _receiving.WaitAsync(TimeSpan.FromSeconds(5));
        }
        _socket.Dispose();
    }
}
