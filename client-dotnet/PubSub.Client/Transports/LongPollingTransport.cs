using System.Globalization;
using System.Net;
using PubSub.Client.Protocol;
using Microsoft.Extensions.Logging;

namespace PubSub.Client.Transports;

/// <summary>
/// <c>GET {prefix}/poll</c> (docs/protocol.md, section 3.4), with <c>/send</c> for frames out.
/// The server numbers a session's frames 1, 2, 3, … and keeps each until a poll acknowledges it;
/// <c>ack</c> is the count of frames received, and the answer to a poll with <c>ack=n</c> holds
/// frames n+1, n+2, …. One poll is in flight at a time and a response counts only once its whole
/// body is read, so a response lost on the way (or cut off) is asked for again with the same
/// <c>ack</c> and each frame is delivered once; numbers already seen are skipped all the same.
/// A session opened with <c>encoding=msgpack</c> answers every poll in MessagePack, so a client that
/// falls back from WebSocket keeps its encoding.
/// </summary>
internal sealed partial class LongPollingTransport(TransportContext context) : ITransport
{
    /// <summary>Retries of a poll that failed on the network before the session is given up.</summary>
    public const int MaxPollRetries = 3;

    /// <summary>The first retry's delay, doubling per retry (0.5, 1, 2 s): well inside the server's 20 s grace period.</summary>
    public static readonly TimeSpan PollRetryDelay = TimeSpan.FromMilliseconds(500);

    private readonly CancellationTokenSource _stop = new();
    private readonly HttpSender _sender = new(context, context.Codec);
    private readonly ILogger _logger = context.LoggerFactory.CreateLogger<LongPollingTransport>();
    private string? _session;
    private Task? _receiving;

    public PubSubTransport Kind => PubSubTransport.LongPolling;

    public FrameCodec Codec => context.Codec;

    public Task? Receiving => _receiving;

    /// <summary>The number of the last frame received: what the next poll acknowledges.</summary>
    public long Received { get; private set; }

    public async Task StartAsync(ITransportSink sink, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        // The first poll chooses the session's encoding (section 6.3); later polls need not repeat it.
        var open = context.Endpoint("poll", context.Codec.Encoding == PubSubEncoding.MessagePack ? "encoding=msgpack" : null);
        var body = await PollAsync(open, context.RequestTimeout, linked.Token);
        Deliver(body, ack: 0, sink);
        if (_session is null)
        {
            throw new PubSubException(PubSubErrorCodes.BadFrame, "The first poll did not start with a 'connected' frame.");
        }
        _receiving = PollLoopAsync(sink);
    }

    public void OnConnected(string sessionId)
    {
        _session = sessionId;
        _sender.OnConnected(sessionId);
    }

    public ValueTask<PubSubException?> SendAsync(ReadOnlyMemory<byte> batch, CancellationToken cancellationToken) =>
        _sender.SendAsync(batch, cancellationToken);

    /// <summary>Leaves with a <c>close</c> frame, so the server releases the session and its subscriptions at once.</summary>
    public Task CloseAsync(TimeSpan timeout) => _sender.CloseAsync(timeout);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_receiving is not null)
        {
            await _receiving;
        }
        _stop.Dispose();
    }

    /// <summary>
    /// Delivers the frames of a response to a poll that acknowledged <paramref name="ack"/>: the
    /// i-th frame (from 1) is number ack + i; numbers up to <see cref="Received"/> were delivered already.
    /// </summary>
    internal void Deliver(ReadOnlyMemory<byte> body, long ack, ITransportSink sink) =>
        context.Codec.Split(body, new Numbering(this, sink, ack), static (numbering, frame) => numbering.Next(frame));

    /// <summary>Numbers the frames of one response as they are split.</summary>
    private sealed class Numbering(LongPollingTransport transport, ITransportSink sink, long ack)
    {
        private long _number = ack;

        public bool Next(ReadOnlySpan<byte> frame)
        {
            if (++_number <= transport.Received)
            {
                return true;
            }
            // Counted before delivery: a frame that arrived is acknowledged, whatever the client makes of it.
            transport.Received = _number;
            sink.OnFrame(frame);
            return !transport._stop.IsCancellationRequested;
        }
    }

    private async Task PollLoopAsync(ITransportSink sink)
    {
        await Task.Yield();
        Exception error;
        var failures = 0;
        while (true)
        {
            var ack = Received;
            var uri = context.Endpoint("poll", string.Create(CultureInfo.InvariantCulture, $"session={Uri.EscapeDataString(_session!)}&ack={ack}"));
            byte[] body;
            try
            {
                body = await PollAsync(uri, context.PollTimeout + TransportContext.PollTimeoutMargin, _stop.Token);
                failures = 0;
            }
            catch (OperationCanceledException e) when (_stop.IsCancellationRequested)
            {
                error = new PubSubException(PubSubErrorCodes.Closed, "Polling stopped.", e);
                break;
            }
            catch (PubSubException e) when (e.StatusCode is not null)
            {
                // The server answered: 404 session_not_found (the session ended or its node is
                // gone; the client reconnects and recovers) or a refusal that a retry would repeat.
                error = e;
                break;
            }
            catch (Exception e)
            {
                // A network failure (or any other): the server keeps the frames until they are
                // acknowledged, so the same poll is asked for again.
                if (++failures > MaxPollRetries)
                {
                    error = new PubSubException(PubSubErrorCodes.ConnectionLost, $"Polling failed {failures} times in a row: {e.Message}", e);
                    break;
                }
                Log.PollRetry(_logger, failures, e.Message);
                try
                {
                    await Task.Delay(PollRetryDelay * Math.Pow(2, failures - 1), context.Time, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    error = new PubSubException(PubSubErrorCodes.Closed, "Polling stopped.", e);
                    break;
                }
                continue;
            }
            Deliver(body, ack, sink);
            if (_stop.IsCancellationRequested)
            {
                error = new PubSubException(PubSubErrorCodes.Closed, "Polling stopped.");
                break;
            }
        }
        sink.OnClosed(new TransportClosed(error));
    }

    /// <summary>One poll: the whole body, or a <see cref="PubSubException"/> (with the status for an HTTP error, with code <c>timeout</c> when it took too long).</summary>
    private async Task<byte[]> PollAsync(Uri uri, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        context.Apply(request);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            using var response = await context.Http.SendAsync(request, HttpCompletionOption.ResponseContentRead, deadline.Token);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw await TransportContext.ReadErrorAsync(response, "GET /poll", cancellationToken);
            }
            return await response.Content.ReadAsByteArrayAsync(deadline.Token);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new PubSubException(PubSubErrorCodes.Timeout, $"A poll got no answer within {timeout.TotalSeconds:0.#} s.", e);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(110, LogLevel.Debug, "Poll failed (attempt {Failures}); retrying with the same ack: {Reason}")]
        public static partial void PollRetry(ILogger logger, int failures, string reason);
    }
}
