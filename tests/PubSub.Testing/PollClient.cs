using System.Net;
using System.Text;
using System.Text.Json;
using Xunit;

namespace PubSub.Testing;

/// <summary>
/// A bare long-polling client that follows the ack rule of docs/protocol.md section 3.4: it counts
/// the frames it received and acknowledges by that count; the frames of a response to ack n are
/// numbers n+1, n+2, ..., so a repeated frame is recognised and skipped.
/// </summary>
public sealed class PollClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly string _prefix;
    private readonly Queue<JsonElement> _pending = new();

    private PollClient(HttpClient http, string prefix)
    {
        _http = http;
        _prefix = prefix;
    }

    public HttpClient Http => _http;

    /// <summary>Opened with <c>encoding=msgpack</c>: responses are MessagePack, and <see cref="SendAsync(object[])"/> sends MessagePack.</summary>
    public bool MessagePack { get; private set; }

    public JsonElement Connected { get; private set; }

    public string SessionId => Connected.GetProperty("session").GetString()!;

    /// <summary>How many frames this client has received on the session (what it acknowledges).</summary>
    public long Received { get; private set; }

    /// <summary>When set, polls and sends go through this client (another node) instead of the one that opened the session.</summary>
    public HttpClient? Via { get; set; }

    /// <summary>Headers added to every request (for example a test identity).</summary>
    public Dictionary<string, string> Headers { get; } = [];

    public static async Task<PollClient> OpenAsync(Uri baseUri, string query = "", Action<PollClient>? configure = null, string prefix = "pubsub")
    {
        var client = new PollClient(new HttpClient { BaseAddress = baseUri, Timeout = Timeout.InfiniteTimeSpan }, prefix);
        configure?.Invoke(client);
        var (status, body) = await client.GetBytesAsync($"{prefix}/poll{query}");
        Assert.True(status == HttpStatusCode.OK, $"opening a poll session failed: {(int)status} {Encoding.UTF8.GetString(body.Body)}");
        client.MessagePack = body.ContentType == MessagePackFrames.ContentType;
        client.Accept(0, body);
        client.Connected = client._pending.Dequeue();
        Assert.Equal("connected", client.Connected.GetProperty("type").GetString());
        return client;
    }

    /// <summary>One poll with the current count as ack; returns the new frames (none when it timed out).</summary>
    public async Task<List<JsonElement>> PollAsync()
    {
        var ack = Received;
        var (status, body) = await GetBytesAsync($"{_prefix}/poll?session={Uri.EscapeDataString(SessionId)}&ack={ack}", Via);
        Assert.True(status == HttpStatusCode.OK, $"poll failed: {(int)status} {Encoding.UTF8.GetString(body.Body)}");
        Assert.True(body.Body.Length == 0 || body.ContentType == (MessagePack ? MessagePackFrames.ContentType : "text/plain"), $"a poll answered with {body.ContentType}");
        return Accept(ack, body);
    }

    private List<JsonElement> Accept(long ack, (string? ContentType, byte[] Body) response) =>
        response.ContentType == MessagePackFrames.ContentType
            ? Accept(ack, MessagePackFrames.Decode(response.Body))
            : Accept(ack, Encoding.UTF8.GetString(response.Body));

    /// <summary>A poll with any ack, without touching the client's count: for tests of lost responses and bad acks.</summary>
    public Task<(HttpStatusCode Status, string Body)> RawPollAsync(long ack, string? sessionId = null, HttpClient? via = null) =>
        GetAsync($"{_prefix}/poll?session={Uri.EscapeDataString(sessionId ?? SessionId)}&ack={ack}", via ?? Via);

    /// <summary>Numbers the frames of a response to <paramref name="ack"/> and keeps those not seen yet.</summary>
    public List<JsonElement> Accept(long ack, string body) =>
        Accept(ack, [.. body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonSerializer.Deserialize<JsonElement>(line))]);

    private List<JsonElement> Accept(long ack, List<JsonElement> frames)
    {
        var fresh = new List<JsonElement>();
        var number = ack;
        foreach (var frame in frames)
        {
            number++;
            if (number <= Received)
            {
                continue;
            }
            fresh.Add(frame);
            _pending.Enqueue(frame);
            Received = number;
        }
        return fresh;
    }

    /// <summary>The next frame, polling as often as needed (each poll is bounded by the server's poll timeout).</summary>
    public async Task<JsonElement> NextAsync()
    {
        var deadline = DateTime.UtcNow + Timeouts.Default;
        while (_pending.Count == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "Timed out waiting for the next frame over long-polling.");
            await PollAsync().WithTimeout("a poll");
        }
        return _pending.Dequeue();
    }

    public Task<JsonElement> NextOfTypeAsync(string type, params string[] skipping) =>
        FrameReader.NextOfTypeAsync(NextAsync, f => f.GetProperty("type").GetString(), type, skipping);

    public Task<List<JsonElement>> MessagesAsync(int count) => FrameReader.MessagesAsync(type => NextOfTypeAsync(type), count);

    /// <summary>Sends frames through <c>/send</c> (optionally through another node), in the session's encoding.</summary>
    public async Task<HttpStatusCode> SendAsync(object[] frames, HttpClient? via = null)
    {
        if (!MessagePack)
        {
            return await SseClient.SendToAsync(via ?? Via ?? _http, SessionId, frames, ApplyHeaders, _prefix);
        }
        return await SendBodyAsync([.. frames.SelectMany(MessagePackFrames.Encode)], MessagePackFrames.ContentType, via);
    }

    /// <summary>Posts <paramref name="body"/> to <c>/send</c> as is, with the given content type.</summary>
    public async Task<HttpStatusCode> SendBodyAsync(byte[] body, string contentType, HttpClient? via = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{_prefix}/send?session={Uri.EscapeDataString(SessionId)}") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        ApplyHeaders(request);
        using var response = await (via ?? Via ?? _http).SendAsync(request).WithTimeout("a send");
        return response.StatusCode;
    }

    public Task<HttpStatusCode> SendAsync(params object[] frames) => SendAsync(frames, null);

    public void Dispose() => _http.Dispose();

    private async Task<(HttpStatusCode Status, string Body)> GetAsync(string path, HttpClient? via = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        ApplyHeaders(request);
        using var response = await (via ?? _http).SendAsync(request).WithTimeout("a poll response", Timeouts.Default + TimeSpan.FromSeconds(30));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<(HttpStatusCode Status, (string? ContentType, byte[] Body) Body)> GetBytesAsync(string path, HttpClient? via = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        ApplyHeaders(request);
        using var response = await (via ?? _http).SendAsync(request).WithTimeout("a poll response", Timeouts.Default + TimeSpan.FromSeconds(30));
        return (response.StatusCode, (response.Content.Headers.ContentType?.MediaType, await response.Content.ReadAsByteArrayAsync()));
    }

    private void ApplyHeaders(HttpRequestMessage request)
    {
        foreach (var (name, value) in Headers)
        {
            request.Headers.Add(name, value);
        }
    }
}
