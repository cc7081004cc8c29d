using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace PubSub.Server.Tests.Host;

/// <summary>
/// The Host's <c>Host:ResponseCompression</c> (docs/deployment.md, "Compression"), against a real
/// Host process: long-polling answers are gzip-compressed for a client that accepts gzip, and an
/// event stream is compressed only with <c>EventStream</c>, and then still delivers each event as
/// it happens (every flush reaches the client, nothing waits in the compressor).
/// </summary>
public sealed class ResponseCompressionTests
{
    private const string Key = "compression-key";

    [Fact]
    public async Task Long_polling_answers_are_gzip_compressed_for_a_client_that_accepts_gzip()
    {
        await using var host = await StartHostAsync(eventStream: false);
        using var http = GzipClient(host);

        var (openFrames, openEncoding, _) = await PollAsync(http, "pubsub/poll?channel=chat/gzip");
        var session = openFrames[0].GetProperty("session").GetString()!;
        var ack = openFrames.Count;
        // The subscription is made in the background: its frame may come with the open or after it.
        while (!openFrames.Any(f => f.GetProperty("type").GetString() == "subscribed"))
        {
            var (more, _, _) = await PollAsync(http, $"pubsub/poll?session={Uri.EscapeDataString(session)}&ack={ack}");
            openFrames.AddRange(more);
            ack += more.Count;
        }
        var held = PollAsync(http, $"pubsub/poll?session={Uri.EscapeDataString(session)}&ack={ack}");
        await PublishAsync(http, "chat/gzip", new { text = new string('g', 5_000) });
        var (answered, answeredEncoding, answeredLength) = await held.WithTimeout("the held poll");
        var message = Assert.Single(answered);

        Assert.Equal("connected", openFrames[0].GetProperty("type").GetString());
        Assert.Equal("gzip", openEncoding);
        Assert.Equal("gzip", answeredEncoding);
        Assert.Equal("message", message.GetProperty("type").GetString());
        Assert.Equal(5_000, message.GetProperty("data").GetProperty("text").GetString()!.Length);
        Assert.True(answeredLength < 1_000, $"a 5,000-character publication took {answeredLength} bytes compressed");
    }

    [Fact]
    public async Task An_event_stream_is_compressed_only_when_asked_and_then_still_delivers_each_event_at_once()
    {
        await using var host = await StartHostAsync(eventStream: true);
        using var http = GzipClient(host);
        using var request = new HttpRequestMessage(HttpMethod.Get, "pubsub/sse?channel=chat/stream");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WithTimeout("the SSE headers");
        await using var body = await response.Content.ReadAsStreamAsync();
        using var events = new StreamReader(new GZipStream(body, CompressionMode.Decompress), Encoding.UTF8);

        Assert.Equal(["gzip"], response.Content.Headers.ContentEncoding);
        Assert.Equal("connected", (await NextFrameAsync(events)).GetProperty("type").GetString());
        Assert.Equal("subscribed", (await NextFrameAsync(events)).GetProperty("type").GetString());
        // One at a time: each event must arrive before the next is published, so none sits in the
        // compressor waiting for more.
        for (var n = 1; n <= 3; n++)
        {
            await PublishAsync(http, "chat/stream", new { n });
            var message = await NextFrameAsync(events);
            Assert.Equal(n, message.GetProperty("data").GetProperty("n").GetInt32());
        }
    }

    [Fact]
    public async Task An_event_stream_is_not_compressed_unless_asked()
    {
        await using var host = await StartHostAsync(eventStream: false);
        using var http = GzipClient(host);
        using var request = new HttpRequestMessage(HttpMethod.Get, "pubsub/sse");
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WithTimeout("the SSE headers");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(response.Content.Headers.ContentEncoding);
    }

    private static Task<HostProcess> StartHostAsync(bool eventStream) =>
        HostProcess.StartAsync(new Dictionary<string, string>
        {
            ["PubSub__ApiKey"] = Key,
            ["Host__ResponseCompression__Enabled"] = "true",
            ["Host__ResponseCompression__EventStream"] = eventStream ? "true" : "false",
        });

    /// <summary>A client that asks for gzip and does not decompress, so the test sees what came over the wire.</summary>
    private static HttpClient GzipClient(HostProcess host)
    {
        var http = new HttpClient(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None })
        {
            BaseAddress = host.BaseUri,
            Timeout = Timeouts.Default,
        };
        http.DefaultRequestHeaders.AcceptEncoding.Add(new StringWithQualityHeaderValue("gzip"));
        return http;
    }

    private static async Task PublishAsync(HttpClient http, string channel, object data)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/publish")
        {
            Content = new StringContent(JsonSerializer.Serialize(new { channel, data }), Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-API-Key", Key);
        using var response = await http.SendAsync(request).WithTimeout("the publish");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>One poll: its frames, its <c>Content-Encoding</c>, and its size on the wire.</summary>
    private static async Task<(List<JsonElement> Frames, string Encoding, int WireLength)> PollAsync(HttpClient http, string uri)
    {
        using var response = await http.GetAsync(uri).WithTimeout("a poll");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var wire = await response.Content.ReadAsByteArrayAsync();
        var encoding = string.Join(",", response.Content.Headers.ContentEncoding);
        if (wire.Length == 0)
        {
            return ([], encoding, 0);
        }
        await using var gzip = new GZipStream(new MemoryStream(wire), CompressionMode.Decompress);
        using var reader = new StreamReader(gzip, Encoding.UTF8);
        var text = await reader.ReadToEndAsync();
        return ([.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonSerializer.Deserialize<JsonElement>(line))], encoding, wire.Length);
    }

    /// <summary>The frame of the next event (its <c>data:</c> line), skipping ids, <c>retry:</c> and heartbeats.</summary>
    private static async Task<JsonElement> NextFrameAsync(StreamReader events)
    {
        while (true)
        {
            var line = await events.ReadLineAsync().WithTimeout("the next event");
            Assert.NotNull(line);
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                return JsonSerializer.Deserialize<JsonElement>(line["data: ".Length..]);
            }
        }
    }
}
