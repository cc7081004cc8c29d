using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PubSub.Diagnostics;
using PubSub.Sessions;

namespace PubSub.Transports;

/// <summary>
/// <c>GET {prefix}/sse</c>: a session whose frames go out as an event stream
/// (docs/protocol.md, section 3.3); frames from the client arrive through <c>/send</c>. Each event
/// carries the resume cursor as its id, so a plain EventSource resumes on any node.
/// </summary>
internal sealed partial class ServerSentEventsTransport(IOptions<PubSubOptions> configured, TimeProvider time, SessionBootstrap bootstrap, PubSubMetrics metrics, ILogger<ServerSentEventsTransport> logger)
{
    /// <summary>
    /// How long a browser waits before reconnecting a dropped stream (the SSE <c>retry:</c> field).
    /// Browsers default to about 3 s; recovery makes a reconnect cheap, so sooner is better, but not
    /// so soon that a restarting cluster is stampeded.
    /// </summary>
    public static readonly TimeSpan ReconnectDelay = TimeSpan.FromSeconds(2);

    private static readonly byte[] s_heartbeat = ":\n\n"u8.ToArray();
    private static readonly byte[] s_retry = Encoding.ASCII.GetBytes($"retry: {(int)ReconnectDelay.TotalMilliseconds}\n\n");

    public async Task HandleAsync(HttpContext context)
    {
        var opened = await bootstrap.OpenAsync(context, TransportNames.ServerSentEvents, (int)configured.Value.PingInterval.TotalSeconds, textOnly: true);
        if (opened is not var (session, channels))
        {
            return;
        }

        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache, no-transform";
        // nginx and the proxies that copy it buffer responses unless told not to.
        response.Headers["X-Accel-Buffering"] = "no";
        if (HttpProtocol.IsHttp11(context.Request.Protocol) || HttpProtocol.IsHttp10(context.Request.Protocol))
        {
            // When the stream ends, so does the connection: the client's reconnect opens a new one,
            // which a TCP load balancer may send to any node, instead of riding the old one back.
            response.Headers.Connection = "close";
        }
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        using var aborted = context.RequestAborted.Register(static s => ((Session)s!).Abandon(), session);
        using var deadline = new CloseDeadline(session, time, static c => ((HttpContext)c).Abort(), context);
        try
        {
            await response.StartAsync(context.RequestAborted);
            await response.BodyWriter.WriteAsync(s_retry, context.RequestAborted);
            var cursor = new ResumeCursor(channels.Where(c => c.Since is not null).Select(c => (c.Match.Channel, c.Since!.Value)));
            bootstrap.StartSubscriptions(session, channels);
            await WriteEventsAsync(response.BodyWriter, session, cursor);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
        {
            Log.StreamEnded(logger, session.Id, e.Message);
        }
        finally
        {
            deadline.Dispose();
            session.Abandon();
        }
    }

    private async Task WriteEventsAsync(PipeWriter writer, Session session, ResumeCursor cursor)
    {
        var batch = new List<OutboundFrame>();
        // One timer source for the stream, re-armed before each wait; a new one only after it fires,
        // which happens only when the stream was idle anyway.
        var idle = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        try
        {
            while (true)
            {
                bool more;
                idle.CancelAfter(configured.Value.PingInterval);
                try
                {
                    more = await session.Outbound.WaitToReadAsync(idle.Token);
                }
                catch (OperationCanceledException) when (idle.IsCancellationRequested)
                {
                    // Nothing to send for a whole interval: a comment keeps proxies from closing the stream.
                    idle.Dispose();
                    idle = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
                    await writer.WriteAsync(s_heartbeat);
                    continue;
                }
                if (!more || !await WriteBatchAsync(writer, session, cursor, batch))
                {
                    return;
                }
            }
        }
        finally
        {
            idle.Dispose();
        }
    }

    /// <summary>Writes what waits as events, with one flush; false once the response can take no more.</summary>
    private async ValueTask<bool> WriteBatchAsync(PipeWriter writer, Session session, ResumeCursor cursor, List<OutboundFrame> batch)
    {
        batch.Clear();
        var held = session.Outbound.HeldBytes;
        var bytes = session.Outbound.DequeueBatch(batch, WebSocketTransport.MaxCoalescedBytes);
        metrics.Written(TransportNames.ServerSentEvents, OutboundFrame.CountPublications(batch), bytes, held);
        foreach (var frame in batch)
        {
            cursor.Apply(frame);
            WriteEvent(writer, cursor.Id, frame.Bytes.Span);
        }
        // One flush for whatever waited: a burst costs one write. A flush that cannot complete at
        // once waits on the client, as a WebSocket write does (see OutboundQueue).
        var flushing = writer.FlushAsync();
        if (!flushing.IsCompleted)
        {
            session.Outbound.MarkWaitingOnClient(time.GetTimestamp());
        }
        FlushResult flushed;
        try
        {
            flushed = await flushing;
        }
        finally
        {
            session.Outbound.MarkClientCaughtUp();
        }
        session.Outbound.Release(bytes);
        return !flushed.IsCanceled && !flushed.IsCompleted;
    }

    private static void WriteEvent(PipeWriter writer, ReadOnlySpan<byte> id, ReadOnlySpan<byte> data)
    {
        writer.Write("id: "u8);
        writer.Write(id);
        writer.Write("\ndata: "u8);
        writer.Write(data);
        writer.Write("\n\n"u8);
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "The event stream of session {SessionId} ended: {Reason}")]
        public static partial void StreamEnded(ILogger logger, string sessionId, string reason);
    }
}
