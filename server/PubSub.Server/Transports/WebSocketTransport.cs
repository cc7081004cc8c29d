using System.Buffers;
using System.IO.Pipelines;
using System.Security.Claims;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PubSub.Node;
using PubSub.Diagnostics;
using PubSub.Http;
using PubSub.Protocol;
using PubSub.Sessions;
using PubSub.Stomp;

namespace PubSub.Transports;

/// <summary>
/// <c>GET {prefix}/ws</c>: a session whose frames travel both ways on one WebSocket
/// (docs/protocol.md, section 3.2). One loop reads batches and hands them to the frame handler;
/// the other drains the outbound queue, coalescing whatever waits into one message.
/// </summary>
internal sealed partial class WebSocketTransport(SessionRegistry sessions, SessionAdmission admission, SessionBootstrap bootstrap, NodeIdentity identity, IOptions<PubSubOptions> options, TimeProvider time, SessionFrameHandler frames, StompFrameHandler stomp, PubSubMetrics metrics, ILogger<WebSocketTransport> logger)
{
    /// <summary>
    /// Frames waiting together are sent as one message up to this size; a larger frame goes alone.
    /// Big enough to batch a burst, small enough that one message does not hold up a reader's loop.
    /// </summary>
    internal const int MaxCoalescedBytes = 64 * 1024;

    private const int InitialReceiveBuffer = 4 * 1024;

    private readonly WriteWindow? _window = options.Value.WriteDelay > TimeSpan.Zero ? new WriteWindow(options.Value.WriteDelay, time) : null;

    public async Task HandleAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await HttpErrors.WriteAsync(context, StatusCodes.Status400BadRequest, PubSubErrorCodes.BadRequest,
                "Expected a WebSocket upgrade request (GET with 'Upgrade: websocket').");
            return;
        }

        // The first subprotocol of the client's list that the server speaks; none offered is JSON.
        // A STOMP subprotocol gets a framing of its own (one per session: docs/protocol.md, section 7).
        var offered = context.WebSockets.WebSocketRequestedProtocols;
        var encoding = FrameEncoding.Json;
        string? subprotocol = null;
        if (offered.Count > 0)
        {
            if (offered.Select(EncodingOf).FirstOrDefault(e => e is not null) is not { } chosen)
            {
                var supported = FrameEncoding.All.Select(e => e.Subprotocol).Concat(StompVersions.Subprotocols);
                await HttpErrors.WriteAsync(context, StatusCodes.Status400BadRequest, PubSubErrorCodes.BadRequest,
                    $"None of the offered subprotocols ({string.Join(", ", offered)}) is supported; offer {string.Join(" or ", supported.Select(p => $"'{p}'"))}.");
                return;
            }
            encoding = chosen;
            subprotocol = chosen.Subprotocol;
        }

        // Refused before the upgrade, so the client reads an HTTP status and an error body.
        if (await admission.AdmitAsync(context, TransportNames.WebSocket) is not { } ticket)
        {
            return;
        }
        // A compressed session upgrades inside the request: the platform negotiates permessage-deflate there.
        if (WebSocketHandoff.Of(context) is { } handoff && !(options.Value.WebSocketCompression && OffersDeflate(context.Request)))
        {
            var user = context.User;
            handoff.HandOver(context, context.Request.Headers.SecWebSocketKey.ToString(), subprotocol,
                transport => RunHandedOverAsync(transport, subprotocol, user, encoding, ticket), ticket.Lease.Dispose);
            return;
        }
        WebSocket socket;
        try
        {
            // Liveness is the protocol's own ping/pong (any proxy sees it as traffic), so the
            // WebSocket-level keep-alive would only double it.
            socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
            {
                SubProtocol = subprotocol,
                KeepAliveInterval = TimeSpan.Zero,
                // Negotiated only with a client that offers permessage-deflate. No server context
                // takeover: the compressor lives while a message is written and is freed after it,
                // so an idle connection holds none (docs/deployment.md, "Compression", has the
                // measured cost of keeping it), and no message is compressed against an earlier one.
                DangerousEnableCompression = options.Value.WebSocketCompression,
                DisableServerContextTakeover = true,
            });
        }
        catch
        {
            // No session will hold the place.
            ticket.Lease.Dispose();
            throw;
        }
        using var _ = socket;
        await RunAsync(socket, context.User, encoding, ticket, IsCompressed(context.Response));
    }

    /// <summary>How many sessions ran on a connection of their own rather than inside their request (<see cref="WebSocketHandoff"/>).</summary>
    internal long HandedOver => Interlocked.Read(ref _handedOver);

    private long _handedOver;

    private async Task RunHandedOverAsync(IDuplexPipe transport, string? subprotocol, ClaimsPrincipal user, FrameEncoding encoding, SessionTicket ticket)
    {
        using var socket = WebSocketHandoff.Open(transport, subprotocol);
        Interlocked.Increment(ref _handedOver);
        await RunAsync(socket, user, encoding, ticket, compressed: false);
    }

    private async Task RunAsync(WebSocket socket, ClaimsPrincipal user, FrameEncoding encoding, SessionTicket ticket, bool compressed)
    {
        var session = sessions.Create(user, TransportNames.WebSocket, encoding, ticket);
        // From here on the session is registered: whatever throws, opening it included, must abandon
        // it, or it would hold its subscriptions and its place under the limits with nobody reading.
        try
        {
            if (encoding is StompFraming framing)
            {
                // CONNECTED answers the client's CONNECT; the connect hook's channels follow it.
                stomp.Open(session, framing, ticket);
            }
            else
            {
                session.Send(encoding.Connected(session.Id, identity.Id, TransportNames.WebSocket, (int)options.Value.PingInterval.TotalSeconds));
                bootstrap.StartSubscriptions(session, [.. SessionBootstrap.ServerChannels(ticket, [])]);
            }
            sessions.CloseIfClosingAll(session);

            using var deadline = new CloseDeadline(session, time, static s => ((WebSocket)s).Abort(), socket);
            var receiving = ReceiveLoopAsync(socket, session, compressed);
            try
            {
                await DrainAsync(session.Outbound, session.Encoding, socket, time, metrics, _window);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
            {
                Log.SendEnded(logger, session.Id, e.Message);
                session.Abandon();
            }
            await CloseAsync(socket, session.CloseReason);
            await receiving;
        }
        finally
        {
            session.Abandon();
        }
    }

    private async Task ReceiveLoopAsync(WebSocket socket, Session session, bool compressed)
    {
        var maxSize = options.Value.MaxMessageSize;
        try
        {
            while (true)
            {
                // Wait for data holding no buffer: an idle connection costs no receive memory.
                var probe = await socket.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None);
                if (probe.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                var buffer = ArrayPool<byte>.Shared.Rent(InitialReceiveBuffer);
                try
                {
                    var length = 0;
                    var tooLarge = false;
                    ValueWebSocketReceiveResult result;
                    do
                    {
                        if (length == buffer.Length && !tooLarge)
                        {
                            if (length > maxSize)
                            {
                                // Read the rest of the message only to discard it.
                                tooLarge = true;
                            }
                            else
                            {
                                buffer = Grow(buffer, Math.Min(buffer.Length * 2, maxSize + 1));
                            }
                        }
                        result = await socket.ReceiveAsync(tooLarge ? buffer.AsMemory() : buffer.AsMemory(length), CancellationToken.None);
                        if (result.MessageType == WebSocketMessageType.Close)
                        {
                            return;
                        }
                        if (!tooLarge)
                        {
                            length += result.Count;
                            tooLarge = length > maxSize;
                            if (tooLarge && compressed)
                            {
                                // Reading a compressed message to its end means inflating all of it:
                                // a few kilobytes can hold gigabytes of zeros. Stop here instead.
                                session.Close(DisconnectReason.InflatedTooLarge(maxSize));
                                return;
                            }
                        }
                    }
                    while (!result.EndOfMessage);

                    session.Heartbeat.MarkInbound(time.GetTimestamp());
                    if (tooLarge)
                    {
                        session.SendError(PubSubErrorCodes.MessageTooLarge, $"A message may hold at most {maxSize} bytes; this one was discarded.");
                    }
                    else if (!session.Encoding.Accepts(result.MessageType))
                    {
                        var kind = session.Encoding.MessageType == WebSocketMessageType.Text ? "text" : "binary";
                        session.Send(session.Encoding.Error(PubSubErrorCodes.BadRequest,
                            $"{result.MessageType} messages are not part of '{session.Encoding.Subprotocol}'; send frames as {kind} messages. The message was discarded."));
                    }
                    else if (session.Encoding is StompFraming stompFraming)
                    {
                        await stomp.HandleMessageAsync(session, stompFraming, buffer.AsMemory(0, length));
                    }
                    else
                    {
                        await frames.HandleBatchAsync(session, session.Encoding, buffer.AsMemory(0, length), session.Closed);
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            Log.ReceiveEnded(logger, session.Id, e.Message);
        }
        finally
        {
            session.Abandon();
        }
    }

    /// <summary>
    /// Writes the queue to the socket until it is completed and empty, coalescing whatever waits
    /// into one message per write. What a write carries stays counted against the session's limit
    /// until the write completes, and a write the socket cannot take at once marks the session as
    /// waiting on its client (see <see cref="OutboundQueue"/>). With a <paramref name="window"/>, a
    /// frame that finds the queue empty waits for the window's next tick, and whatever joined it
    /// meanwhile goes in the same message; frames that were already waiting (a backlog, or what
    /// arrived during the last write) go at once, as without a window.
    /// </summary>
    internal static async Task DrainAsync(OutboundQueue outbound, FrameEncoding encoding, WebSocket socket, TimeProvider time, PubSubMetrics? metrics = null, WriteWindow? window = null)
    {
        while (true)
        {
            var waiting = outbound.WaitToReadAsync(CancellationToken.None);
            var ready = waiting.IsCompleted;
            if (!await waiting)
            {
                break;
            }
            if (!ready && window is not null)
            {
                // The slow-consumer limits still apply to what gathers: enqueueing checks them, not the writer.
                await window.NextTickAsync();
            }
            var held = outbound.HeldBytes;
            var next = NextMessage.Take(outbound, encoding);
            if (next.Frames == 0)
            {
                // Completing the queue with discardPending emptied it after the wait was answered.
                continue;
            }
            metrics?.Written(TransportNames.WebSocket, next.Publications, next.Bytes, held);
            try
            {
                await SendMessageAsync(socket, encoding.MessageTypeOf(next.Message.Span), next.Message, outbound, time);
            }
            finally
            {
                next.ReturnBuffer();
            }
            outbound.Release(next.Bytes);
        }
    }

    /// <summary>
    /// What one write sends: the frames that wait, as one message. A lone frame is sent as it is;
    /// several are joined into a buffer from the pool, which <see cref="ReturnBuffer"/> gives back.
    /// </summary>
    private readonly record struct NextMessage(ReadOnlyMemory<byte> Message, byte[]? Buffer, int Frames, int Bytes, int Publications)
    {
        /// <summary>
        /// The frames are gathered in a list per thread, not per session: they are joined before
        /// anything is awaited, and an idle session then holds no list.
        /// </summary>
        [ThreadStatic]
        private static List<OutboundFrame>? t_batch;

        public static NextMessage Take(OutboundQueue outbound, FrameEncoding encoding)
        {
            var batch = t_batch ??= [];
            try
            {
                var bytes = outbound.DequeueBatch(batch, MaxCoalescedBytes);
                var publications = OutboundFrame.CountPublications(batch);
                if (batch.Count <= 1)
                {
                    return batch.Count == 0 ? default : new(batch[0].Bytes, null, 1, bytes, publications);
                }
                var buffer = ArrayPool<byte>.Shared.Rent(encoding.JoinedLength(batch));
                var written = encoding.Join(batch, buffer);
                return new(buffer.AsMemory(0, written), buffer, batch.Count, bytes, publications);
            }
            finally
            {
                batch.Clear();
            }
        }

        public void ReturnBuffer()
        {
            if (Buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(Buffer);
            }
        }
    }

    /// <summary>
    /// Sends one message, in fragments of <see cref="MaxCoalescedBytes"/> when it is larger: the
    /// socket copies what it sends into a buffer of its own, and the server's output pipe takes a
    /// whole write before it pushes back, so one large write would hold it twice more, uncounted.
    /// </summary>
    private static async ValueTask SendMessageAsync(WebSocket socket, WebSocketMessageType type, ReadOnlyMemory<byte> message, OutboundQueue outbound, TimeProvider time)
    {
        do
        {
            var fragment = message[..Math.Min(message.Length, MaxCoalescedBytes)];
            message = message[fragment.Length..];
            var sending = socket.SendAsync(fragment, type, endOfMessage: message.IsEmpty, CancellationToken.None);
            if (sending.IsCompleted)
            {
                sending.GetAwaiter().GetResult();
                continue;
            }
            // The platform could not take the bytes at once: the client is not keeping up.
            outbound.MarkWaitingOnClient(time.GetTimestamp());
            try
            {
                await sending;
            }
            finally
            {
                outbound.MarkClientCaughtUp();
            }
        }
        while (!message.IsEmpty);
    }

    private async Task CloseAsync(WebSocket socket, DisconnectReason? reason)
    {
        if (socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived))
        {
            return;
        }
        try
        {
            var status = reason is null ? WebSocketCloseStatus.NormalClosure : (WebSocketCloseStatus)reason.Code;
            await socket.CloseOutputAsync(status, reason?.Reason, CancellationToken.None);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            Log.SendEnded(logger, "-", e.Message);
        }
    }

    private static FrameEncoding? EncodingOf(string subprotocol) =>
        StompVersions.IsSubprotocol(subprotocol) ? new StompFraming(subprotocol) : FrameEncoding.OfSubprotocol(subprotocol);

    private static bool OffersDeflate(HttpRequest request) =>
        request.Headers.SecWebSocketExtensions.ToString().Contains("permessage-deflate", StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether the upgrade's answer accepted permessage-deflate, the only extension the server knows.</summary>
    private static bool IsCompressed(HttpResponse response) =>
        response.Headers.SecWebSocketExtensions.ToString().Contains("permessage-deflate", StringComparison.Ordinal);

    private static byte[] Grow(byte[] buffer, int size)
    {
        var larger = ArrayPool<byte>.Shared.Rent(size);
        buffer.AsSpan().CopyTo(larger);
        ArrayPool<byte>.Shared.Return(buffer);
        return larger;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "Receiving for session {SessionId} ended: {Reason}")]
        public static partial void ReceiveEnded(ILogger logger, string sessionId, string reason);

        [LoggerMessage(2, LogLevel.Debug, "Sending for session {SessionId} ended: {Reason}")]
        public static partial void SendEnded(ILogger logger, string sessionId, string reason);
    }
}
