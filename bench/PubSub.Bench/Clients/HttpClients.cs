using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using PubSub.Bench.Measurement;
using PubSub.Bench.Protocols;

namespace PubSub.Bench.Clients;

/// <summary>The HTTP client every SSE and long-polling connection of one run shares.</summary>
public static class BenchHttp
{
    public static HttpClient Create() => new(new SocketsHttpHandler
    {
        // One TCP connection per stream or poll in flight, as separate browsers would have.
        MaxConnectionsPerServer = int.MaxValue,
        UseCookies = false,
        UseProxy = false,
        AutomaticDecompression = DecompressionMethods.None,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        ConnectTimeout = TimeSpan.FromSeconds(10),
    })
    {
        // Longer than either server's poll timeout (PubSub 25 s, SignalR 90 s).
        Timeout = TimeSpan.FromMinutes(2),
    };
}

/// <summary>
/// The parts HTTP transports share: sending frames with a POST (PubSub's /send, SignalR's POST on
/// the connection URL) and the cancellation that ends the receive loop.
/// </summary>
public abstract class HttpBenchClient : BenchClient
{
    private readonly Func<BenchClient, Uri> _sendUri;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private Task? _receiving;

    protected HttpBenchClient(HttpClient http, Func<BenchClient, Uri> sendUri, WireProtocol protocol, SubscriberStats? stats)
        : base(protocol, stats)
    {
        Http = http;
        _sendUri = sendUri;
    }

    protected HttpClient Http { get; }

    protected CancellationTokenSource Stop { get; } = new();

    protected void Start(Func<Task> receiveLoop) => _receiving = receiveLoop();

    // Sends of one client go one at a time and in order, as the protocols require.
    public override async ValueTask SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken)
    {
        await _sendLock.WaitAsync(cancellationToken);
        try
        {
            using var content = new ByteArrayContent(frame.ToArray());
            content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
            using var response = await Http.PostAsync(_sendUri(this), content, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new HttpRequestException($"POST {_sendUri(this)} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
            }
        }
        finally
        {
            _sendLock.Release();
        }
    }

    public override async ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        MarkClosed("closed by the generator");
        await Stop.CancelAsync();
        if (_receiving is not null)
        {
            await _receiving;
        }
        Stop.Dispose();
        _sendLock.Dispose();
    }

    protected static async Task<HttpResponseMessage> EnsureSuccessAsync(HttpResponseMessage response, string what)
    {
        if (response.IsSuccessStatusCode)
        {
            return response;
        }
        var body = await response.Content.ReadAsStringAsync();
        response.Dispose();
        throw new HttpRequestException($"{what} answered {(int)response.StatusCode}: {body}");
    }
}

/// <summary>
/// A generator connection that receives over Server-Sent Events: each <c>data:</c> line is one
/// unit (PubSub: one frame; SignalR: records). Comments, <c>id:</c> lines and blank lines pass.
/// </summary>
public sealed class SseClient : HttpBenchClient
{
    private byte[] _line = new byte[1024];
    private int _lineLength;

    private SseClient(HttpClient http, Func<BenchClient, Uri> sendUri, WireProtocol protocol, SubscriberStats? stats)
        : base(http, sendUri, protocol, stats)
    {
    }

    /// <summary>Opens the stream; returns once the server answered 200 and the read loop runs.</summary>
    public static async Task<SseClient> OpenAsync(
        HttpClient http, Uri streamUri, Func<BenchClient, Uri> sendUri, WireProtocol protocol, SubscriberStats? stats, CancellationToken cancellationToken)
    {
        var client = new SseClient(http, sendUri, protocol, stats);
        using var request = new HttpRequestMessage(HttpMethod.Get, streamUri);
        request.Headers.Accept.ParseAdd("text/event-stream");
        var response = await EnsureSuccessAsync(
            await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken), $"GET {streamUri}");
        client.Start(() => client.ReadLoopAsync(response));
        return client;
    }

    private async Task ReadLoopAsync(HttpResponseMessage response)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            using (response)
            {
                var stream = await response.Content.ReadAsStreamAsync(Stop.Token);
                while (true)
                {
                    var read = await stream.ReadAsync(buffer, Stop.Token);
                    if (read == 0)
                    {
                        MarkClosed("the event stream ended");
                        return;
                    }
                    OnChunk(buffer.AsSpan(0, read), Stopwatch.GetTimestamp());
                }
            }
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            MarkClosed(e.Message);
        }
    }

    private void OnChunk(ReadOnlySpan<byte> chunk, long now)
    {
        while (!chunk.IsEmpty)
        {
            var end = chunk.IndexOf((byte)'\n');
            if (end < 0)
            {
                AppendLine(chunk);
                return;
            }
            if (_lineLength == 0)
            {
                OnLine(chunk[..end], now);
            }
            else
            {
                AppendLine(chunk[..end]);
                OnLine(_line.AsSpan(0, _lineLength), now);
                _lineLength = 0;
            }
            chunk = chunk[(end + 1)..];
        }
    }

    private void AppendLine(ReadOnlySpan<byte> part)
    {
        if (_lineLength + part.Length > _line.Length)
        {
            Array.Resize(ref _line, Math.Max(_lineLength + part.Length, _line.Length * 2));
        }
        part.CopyTo(_line.AsSpan(_lineLength));
        _lineLength += part.Length;
    }

    private void OnLine(ReadOnlySpan<byte> line, long now)
    {
        if (!line.IsEmpty && line[^1] == (byte)'\r')
        {
            line = line[..^1];
        }
        if (!line.StartsWith("data:"u8))
        {
            return;
        }
        var data = line[5..];
        if (!data.IsEmpty && data[0] == (byte)' ')
        {
            data = data[1..];
        }
        OnUnit(data, unitComplete: true, now);
    }
}

/// <summary>
/// A generator connection that receives by long-polling: each response body is one unit. The
/// next poll's address comes from <c>nextPoll</c>, so PubSub can put the ack (the frames counted
/// so far) in it; a poll answered 204 or 404 ends the connection.
/// </summary>
public sealed class PollClient : HttpBenchClient
{
    private readonly Func<BenchClient, Uri> _nextPoll;
    private byte[] _body = new byte[16 * 1024];

    private PollClient(HttpClient http, Func<BenchClient, Uri> nextPoll, Func<BenchClient, Uri> sendUri, WireProtocol protocol, SubscriberStats? stats)
        : base(http, sendUri, protocol, stats)
    {
        _nextPoll = nextPoll;
    }

    public static PollClient Start(HttpClient http, Func<BenchClient, Uri> nextPoll, Func<BenchClient, Uri> sendUri, WireProtocol protocol, SubscriberStats? stats)
    {
        var client = new PollClient(http, nextPoll, sendUri, protocol, stats);
        client.Start(client.PollLoopAsync);
        return client;
    }

    private async Task PollLoopAsync()
    {
        try
        {
            while (!Stop.IsCancellationRequested)
            {
                var uri = _nextPoll(this);
                using var response = await Http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, Stop.Token);
                if (response.StatusCode is HttpStatusCode.NoContent or HttpStatusCode.NotFound)
                {
                    MarkClosed($"poll answered {(int)response.StatusCode}");
                    return;
                }
                if (!response.IsSuccessStatusCode)
                {
                    MarkClosed($"GET {uri} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(Stop.Token)}");
                    return;
                }
                var length = await ReadBodyAsync(response);
                if (length > 0)
                {
                    OnUnit(_body.AsSpan(0, length), unitComplete: true, Stopwatch.GetTimestamp());
                }
            }
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            MarkClosed(e.Message);
        }
    }

    private async Task<int> ReadBodyAsync(HttpResponseMessage response)
    {
        var stream = await response.Content.ReadAsStreamAsync(Stop.Token);
        var length = 0;
        while (true)
        {
            if (length == _body.Length)
            {
                Array.Resize(ref _body, _body.Length * 2);
            }
            var read = await stream.ReadAsync(_body.AsMemory(length), Stop.Token);
            if (read == 0)
            {
                return length;
            }
            length += read;
        }
    }
}
