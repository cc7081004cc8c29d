using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using PubSub.Client.Protocol;

namespace PubSub.Client.Transports;

/// <summary>
/// What every request of one connection attempt shares: the endpoints, the HTTP client, the
/// headers (with the token fetched for this attempt) and the limits the server announced.
/// </summary>
internal sealed record TransportContext
{
    /// <summary>How much longer than the server's poll timeout a poll may take before it counts as lost.</summary>
    public static readonly TimeSpan PollTimeoutMargin = TimeSpan.FromSeconds(10);

    /// <summary>The largest WebSocket message or server-sent event the client accepts; the server coalesces up to 64 KB, and one frame is at most its limit plus base64.</summary>
    public const int MaxInboundMessageBytes = 16 * 1024 * 1024;

    public required Uri BaseUri { get; init; }

    /// <summary>The encoding negotiated with the server; transports that carry only text (SSE) use JSON whatever it is.</summary>
    public FrameCodec Codec { get; init; } = JsonFrameCodec.Instance;

    public required HttpClient Http { get; init; }

    public HttpMessageHandler? Handler { get; init; }

    public required IReadOnlyDictionary<string, string> Headers { get; init; }

    public string? AccessToken { get; init; }

    public required TimeProvider Time { get; init; }

    public required ILoggerFactory LoggerFactory { get; init; }

    public required TimeSpan RequestTimeout { get; init; }

    public TimeSpan PollTimeout { get; init; } = TimeSpan.FromSeconds(25);

    public Action<System.Net.WebSockets.ClientWebSocketOptions>? ConfigureWebSocket { get; init; }

    /// <summary>Whether the WebSocket offers permessage-deflate (<see cref="PubSubClientOptions.WebSocketCompression"/>).</summary>
    public bool WebSocketCompression { get; init; }

    /// <summary><c>{base}/{name}</c> with the query, e.g. <c>http://host/pubsub/poll?session=...</c>.</summary>
    public Uri Endpoint(string name, string? query = null)
    {
        var builder = new UriBuilder(BaseUri);
        builder.Path = builder.Path.TrimEnd('/') + "/" + name;
        builder.Query = query ?? "";
        return builder.Uri;
    }

    /// <summary>Adds the headers and the bearer token to a request.</summary>
    public void Apply(HttpRequestMessage request)
    {
        foreach (var (name, value) in Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        if (AccessToken is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AccessToken);
        }
    }

    /// <summary>
    /// The exception for an HTTP error answer: the code and message of its error body (section
    /// 3.7), or, when the body is not one, a code that fits the status.
    /// </summary>
    public static async Task<PubSubException> ReadErrorAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken, bool terminal = false)
    {
        var status = (int)response.StatusCode;
        string? code = null, message = null;
        try
        {
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            if (body.Length > 0 && body[0] == (byte)'{')
            {
                var error = JsonSerializer.Deserialize(body, ProtocolJsonContext.Default.HttpErrorBody)?.Error;
                code = error?.Code;
                message = error?.Message;
            }
        }
        catch (Exception e) when (e is JsonException or HttpRequestException or IOException)
        {
            // Not the protocol's error body (a proxy's page, a cut connection): the status speaks.
        }
        // Not the protocol's body (a proxy answered, or a wrong URL): name the status instead.
        code ??= string.Create(CultureInfo.InvariantCulture, $"http_{status}");
        var text = string.Create(CultureInfo.InvariantCulture, $"{what} failed with HTTP {status} ({code}){(string.IsNullOrEmpty(message) ? "." : ": " + message)}");
        return new PubSubException(code, text, response.StatusCode) { IsTerminal = terminal };
    }
}
