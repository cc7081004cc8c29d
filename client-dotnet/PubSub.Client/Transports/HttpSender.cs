using System.Net;
using System.Net.Http.Headers;
using PubSub.Client.Protocol;

namespace PubSub.Client.Transports;

/// <summary>
/// <c>POST {prefix}/send?session=...</c> (docs/protocol.md, section 3.5): the frames an SSE or
/// long-polling session sends. The connection's send loop sends one batch at a time, so the server
/// handles them in the order they were made. A failed request is not retried: its frames may have
/// been handled, and a publish sent twice is published twice.
/// </summary>
internal sealed class HttpSender(TransportContext context, FrameCodec codec)
{
    /// <summary>The Content-Type of the bodies, which tells the server their encoding (section 3.5).</summary>
    private readonly MediaTypeHeaderValue _contentType = codec.Encoding == PubSubEncoding.Json
        ? new MediaTypeHeaderValue(codec.ContentType) { CharSet = "utf-8" }
        : new MediaTypeHeaderValue(codec.ContentType);

    private string? _session;

    public void OnConnected(string sessionId) => _session = sessionId;

    /// <summary>Sends <c>close</c> so the server ends the session now; best effort, within <paramref name="timeout"/>.</summary>
    public async Task CloseAsync(TimeSpan timeout)
    {
        if (_session is null)
        {
            return;
        }
        using var deadline = new CancellationTokenSource(timeout, context.Time);
        try
        {
            await SendAsync(codec.Close, deadline.Token);
        }
        catch (Exception e) when (e is PubSubException or HttpRequestException or OperationCanceledException or IOException)
        {
            // The session ends anyway: with its stream (SSE) or after the grace period (long-polling).
        }
    }

    public async ValueTask<PubSubException?> SendAsync(ReadOnlyMemory<byte> batch, CancellationToken cancellationToken)
    {
        var session = _session ?? throw new InvalidOperationException("Nothing can be sent before the session is connected.");
        using var request = new HttpRequestMessage(HttpMethod.Post, context.Endpoint("send", "session=" + Uri.EscapeDataString(session)));
        context.Apply(request);
        request.Content = new ReadOnlyMemoryContent(batch);
        request.Content.Headers.ContentType = _contentType;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(context.RequestTimeout);
        HttpResponseMessage response;
        try
        {
            response = await context.Http.SendAsync(request, timeout.Token);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new PubSubException(PubSubErrorCodes.Timeout, $"POST /send got no answer within {context.RequestTimeout.TotalSeconds:0.#} s.", e);
        }
        using (response)
        {
            if (response.IsSuccessStatusCode)
            {
                return null;
            }
            var error = await TransportContext.ReadErrorAsync(response, "POST /send", cancellationToken);
            // The session is gone (expired, or its node is): the connection is lost, and the client
            // reconnects and recovers. Any other refusal is about this batch only.
            if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized)
            {
                throw error;
            }
            return error;
        }
    }
}
