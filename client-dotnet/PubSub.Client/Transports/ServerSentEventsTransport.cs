using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using PubSub.Client.Protocol;

namespace PubSub.Client.Transports;

/// <summary>
/// <c>GET {prefix}/sse</c> (docs/protocol.md, section 3.3): frames from the server arrive as an
/// event stream, one frame per event; frames to it go through <c>/send</c>. The session lives
/// exactly as long as the stream. The client keeps every subscription's position itself and
/// re-subscribes with <c>since</c> after a reconnect, so it has no use for the resume cursor.
/// </summary>
internal sealed class ServerSentEventsTransport(TransportContext context) : ITransport
{
    private readonly CancellationTokenSource _stop = new();
    private readonly HttpSender _sender = new(context, JsonFrameCodec.Instance);
    private HttpResponseMessage? _response;
    private Task? _receiving;

    public PubSubTransport Kind => PubSubTransport.ServerSentEvents;

    /// <summary>An event stream carries text only: an SSE session is JSON both ways, whatever was negotiated (docs/protocol.md, section 6.3).</summary>
    public FrameCodec Codec => JsonFrameCodec.Instance;

    public Task? Receiving => _receiving;

    public async Task StartAsync(ITransportSink sink, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, context.Endpoint("sse"));
        context.Apply(request);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        request.Headers.CacheControl = new CacheControlHeaderValue { NoCache = true };
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        var response = await context.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            using (response)
            {
                throw await TransportContext.ReadErrorAsync(response, "GET /sse", cancellationToken);
            }
        }
        if (response.Content.Headers.ContentType?.MediaType != "text/event-stream")
        {
            response.Dispose();
            throw new PubSubException(PubSubErrorCodes.TransportFailed, $"GET /sse answered with '{response.Content.Headers.ContentType}', not an event stream.");
        }
        _response = response;
        var stream = await response.Content.ReadAsStreamAsync(linked.Token);
        _receiving = ReadLoopAsync(stream, sink);
    }

    public void OnConnected(string sessionId) => _sender.OnConnected(sessionId);

    public ValueTask<PubSubException?> SendAsync(ReadOnlyMemory<byte> batch, CancellationToken cancellationToken) =>
        _sender.SendAsync(batch, cancellationToken);

    /// <summary>Leaves with a <c>close</c> frame, so the server releases the session and its subscriptions at once.</summary>
    public Task CloseAsync(TimeSpan timeout) => _sender.CloseAsync(timeout);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _response?.Dispose();
        if (_receiving is not null)
        {
            await _receiving;
        }
        _stop.Dispose();
    }

    private async Task ReadLoopAsync(Stream stream, ITransportSink sink)
    {
        await Task.Yield();
        var reader = PipeReader.Create(stream);
        var parser = new EventStreamParser(sink);
        Exception error;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(_stop.Token);
                var buffer = result.Buffer;
                parser.Parse(ref buffer);
                reader.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    error = new PubSubException(PubSubErrorCodes.ConnectionLost, "The server ended the event stream.");
                    break;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException or ObjectDisposedException)
        {
            error = new PubSubException(PubSubErrorCodes.ConnectionLost, $"The event stream failed: {e.Message}", e);
        }
        catch (PubSubException e)
        {
            error = e;
        }
        catch (Exception e)
        {
            // Whatever else the stream throws ends this connection, not the client.
            error = new PubSubException(PubSubErrorCodes.TransportFailed, $"The event stream failed unexpectedly: {e.Message}", e);
        }
        await reader.CompleteAsync();
        sink.OnClosed(new TransportClosed(error));
    }
}

/// <summary>
/// The event stream format (the HTML standard's "text/event-stream"): lines ending in LF, CRLF
/// or CR; <c>data:</c> lines joined by LF into an event dispatched at an empty line; comment lines
/// (starting with <c>:</c>) carry nothing but prove the stream alive. <c>id</c>, <c>event</c> and
/// <c>retry</c> are read past: this client keeps its own positions and reconnect delays.
/// </summary>
internal sealed class EventStreamParser(ITransportSink sink)
{
    private readonly ArrayBufferWriter<byte> _data = new();
    private bool _hasData;
    private bool _lastWasCarriageReturn;

    /// <summary>Consumes every complete line of <paramref name="buffer"/>; the rest stays for the next read.</summary>
    public void Parse(ref ReadOnlySequence<byte> buffer)
    {
        while (true)
        {
            var reader = new SequenceReader<byte>(buffer);
            if (_lastWasCarriageReturn)
            {
                // A CR at the end of the last read may be the first half of CRLF.
                _lastWasCarriageReturn = false;
                if (reader.IsNext((byte)'\n', advancePast: true))
                {
                    buffer = buffer.Slice(reader.Position);
                    continue;
                }
            }
            if (!reader.TryReadToAny(out ReadOnlySequence<byte> line, "\r\n"u8, advancePastDelimiter: false))
            {
                if (buffer.Length > TransportContext.MaxInboundMessageBytes)
                {
                    throw new PubSubException(PubSubErrorCodes.BadFrame, $"An event stream line exceeded {TransportContext.MaxInboundMessageBytes} bytes.");
                }
                return;
            }
            reader.TryRead(out var delimiter);
            if (delimiter == (byte)'\r')
            {
                if (reader.End)
                {
                    _lastWasCarriageReturn = true;
                }
                else
                {
                    reader.IsNext((byte)'\n', advancePast: true);
                }
            }
            buffer = buffer.Slice(reader.Position);
            OnLine(line.IsSingleSegment ? line.FirstSpan : line.ToArray());
        }
    }

    private void OnLine(ReadOnlySpan<byte> line)
    {
        if (line.IsEmpty)
        {
            if (_hasData)
            {
                var frame = _data.WrittenSpan;
                _hasData = false;
                sink.OnFrame(frame);
                _data.ResetWrittenCount();
            }
            return;
        }
        if (line[0] == (byte)':')
        {
            sink.OnActivity();
            return;
        }
        var colon = line.IndexOf((byte)':');
        var field = colon < 0 ? line : line[..colon];
        var value = colon < 0 ? [] : line[(colon + 1)..];
        if (!value.IsEmpty && value[0] == (byte)' ')
        {
            value = value[1..];
        }
        if (field.SequenceEqual("data"u8))
        {
            if (_hasData)
            {
                _data.Write("\n"u8);
            }
            if (_data.WrittenCount + value.Length > TransportContext.MaxInboundMessageBytes)
            {
                throw new PubSubException(PubSubErrorCodes.BadFrame, $"A server-sent event exceeded {TransportContext.MaxInboundMessageBytes} bytes.");
            }
            _data.Write(value);
            _hasData = true;
        }
    }
}
