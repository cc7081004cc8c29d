using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Xunit;

namespace PubSub.Testing;

/// <summary>One server-sent event: its id (the resume cursor) and its frame.</summary>
public sealed record SseEvent(string? Id, JsonElement Frame)
{
    public string Type => Frame.GetProperty("type").GetString()!;
}

/// <summary>
/// A bare SSE client over HttpClient, parsing the event stream as the spec (and a browser's
/// EventSource) does, and sending frames through <c>/send</c>. Comments (heartbeats) are counted.
/// </summary>
public sealed class SseClient : IAsyncDisposable
{
    private readonly HttpClient _http;
    private readonly HttpResponseMessage _response;
    private readonly Channel<SseEvent> _events = Channel.CreateUnbounded<SseEvent>();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reading;
    private int _comments;

    private SseClient(HttpClient http, HttpResponseMessage response)
    {
        _http = http;
        _response = response;
        _reading = ReadLoopAsync();
    }

    public HttpResponseHeaders Headers => _response.Headers;

    public HttpContentHeaders ContentHeaders => _response.Content.Headers;

    public SseEvent Connected { get; private set; } = null!;

    public string SessionId => Connected.Frame.GetProperty("session").GetString()!;

    /// <summary>The last event id seen, as an EventSource keeps it.</summary>
    public string? LastEventId { get; private set; }

    /// <summary>The <c>retry:</c> value the server sent, in milliseconds.</summary>
    public int? Retry { get; private set; }

    public int CommentsReceived => Volatile.Read(ref _comments);

    /// <summary>Opens <c>{prefix}/sse{query}</c>; fails the test if the server does not answer with a stream.</summary>
    public static async Task<SseClient> ConnectAsync(Uri baseUri, string query = "", string? lastEventId = null, Action<HttpRequestMessage>? configure = null, string prefix = "pubsub")
    {
        var (status, body, client) = await TryConnectAsync(baseUri, query, lastEventId, configure, prefix);
        Assert.True(client is not null, $"SSE request failed: {(int)status} {body}");
        return client!;
    }

    /// <summary>Opens the stream, or returns the status and error body when the server refuses.</summary>
    public static async Task<(HttpStatusCode Status, string Body, SseClient? Client)> TryConnectAsync(
        Uri baseUri, string query = "", string? lastEventId = null, Action<HttpRequestMessage>? configure = null, string prefix = "pubsub")
    {
        var http = new HttpClient { BaseAddress = baseUri, Timeout = Timeout.InfiniteTimeSpan };
        var request = new HttpRequestMessage(HttpMethod.Get, $"{prefix}/sse{query}");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }
        configure?.Invoke(request);
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WithTimeout("the SSE response headers");
        if (response.StatusCode != HttpStatusCode.OK)
        {
            var body = await response.Content.ReadAsStringAsync();
            response.Dispose();
            http.Dispose();
            return (response.StatusCode, body, null);
        }
        var client = new SseClient(http, response);
        client.Connected = await client.NextAsync();
        Assert.Equal("connected", client.Connected.Type);
        return (response.StatusCode, "", client);
    }

    public async Task<SseEvent> NextAsync()
    {
        try
        {
            return await _events.Reader.ReadAsync().AsTask().WithTimeout("the next server-sent event");
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException("The event stream ended before the next event.");
        }
    }

    public Task<SseEvent> NextOfTypeAsync(string type, params string[] skipping) =>
        FrameReader.NextOfTypeAsync(NextAsync, e => e.Type, type, skipping);

    public Task<List<SseEvent>> MessagesAsync(int count) => FrameReader.MessagesAsync(type => NextOfTypeAsync(type), count);

    /// <summary>Completes when the server ends the stream.</summary>
    public Task Ended => _reading;

    /// <summary>POSTs frames (one batch) to <c>/send</c> for this session; returns the status.</summary>
    public Task<HttpStatusCode> SendAsync(params object[] frames) => SendToAsync(_http, SessionId, frames);

    public static async Task<HttpStatusCode> SendToAsync(HttpClient http, string sessionId, object[] frames, Action<HttpRequestMessage>? configure = null, string prefix = "pubsub")
    {
        var body = string.Join('\n', frames.Select(f => f as string ?? JsonSerializer.Serialize(f)));
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{prefix}/send?session={Uri.EscapeDataString(sessionId)}")
        {
            Content = new StringContent(body, Encoding.UTF8, "text/plain"),
        };
        configure?.Invoke(request);
        using var response = await http.SendAsync(request).WithTimeout("the /send response");
        return response.StatusCode;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _response.Dispose();
        try
        {
            await _reading;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or HttpRequestException)
        {
        }
        _http.Dispose();
        _stop.Dispose();
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            await using var stream = await _response.Content.ReadAsStreamAsync(_stop.Token);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            string? id = null;
            var data = new StringBuilder();
            while (await reader.ReadLineAsync(_stop.Token) is { } line)
            {
                if (line.Length == 0)
                {
                    if (data.Length > 0)
                    {
                        LastEventId = id ?? LastEventId;
                        _events.Writer.TryWrite(new SseEvent(LastEventId, JsonSerializer.Deserialize<JsonElement>(data.ToString())));
                    }
                    data.Clear();
                    id = null;
                }
                else if (line.StartsWith(':'))
                {
                    Interlocked.Increment(ref _comments);
                }
                else if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    data.Append(line.AsSpan(6));
                }
                else if (line.StartsWith("id: ", StringComparison.Ordinal))
                {
                    id = line[4..];
                }
                else if (line.StartsWith("retry: ", StringComparison.Ordinal))
                {
                    Retry = int.Parse(line.AsSpan(7), System.Globalization.CultureInfo.InvariantCulture);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or HttpRequestException)
        {
        }
        finally
        {
            _events.Writer.TryComplete();
        }
    }
}
