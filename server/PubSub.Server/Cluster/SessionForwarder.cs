using System.Buffers;
using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using PubSub.Diagnostics;
using PubSub.Node;
using PubSub.Protocol;
using PubSub.Transports;

namespace PubSub.Cluster;

/// <summary>
/// Carries <c>/send</c> and <c>/poll</c> requests to the node that owns the session, and the
/// answers back, as node-to-node messages through the broker. A client behind a load balancer
/// without affinity can therefore reach any node with any request.
/// </summary>
/// <remarks>
/// A message is a JSON header line followed by the raw body:
/// <c>{"kind":"request","id":..,"from":..,"type":"send|poll","session":..,"user":..,"ack":..,"encoding":..}\n&lt;body&gt;</c>
/// (<c>encoding</c>: a send body's, or the one a poll named; the body may be MessagePack, as may a response's),
/// <c>{"kind":"holding","id":..}</c> and <c>{"kind":"response","id":..,"status":..,"contentType":..}\n&lt;body&gt;</c>.
/// The owner says <c>holding</c> as soon as a request arrives and every <see cref="HoldingInterval"/>
/// while it works on it (a poll may be held for the whole poll timeout), so the forwarding node
/// knows within <see cref="SilenceTimeout"/> when the owner died or a message was lost, instead of
/// holding the client for the poll timeout and more.
/// </remarks>
internal sealed partial class SessionForwarder : INodeMessageHandler
{
    /// <summary>How often the owner says it is still working on a forwarded request.</summary>
    public static readonly TimeSpan HoldingInterval = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long the forwarding node waits without a word from the owner: three holding intervals,
    /// so one lost message is not taken for a dead owner.
    /// </summary>
    public static readonly TimeSpan SilenceTimeout = 3 * HoldingInterval;

    private readonly ConcurrentDictionary<string, Pending> _pending = new(StringComparer.Ordinal);
    private readonly MeasuredBroker _broker;
    private readonly NodeIdentity _identity;
    private readonly TimeProvider _time;
    private readonly SessionRequestHandler _local;
    private readonly ILogger _logger;
    private readonly PubSubMetrics _metrics;

    public SessionForwarder(MeasuredBroker broker, PubSubMetrics metrics, NodeIdentity identity, TimeProvider time, SessionRequestHandler local, ILogger<SessionForwarder> logger)
    {
        _broker = broker;
        _metrics = metrics;
        _identity = identity;
        _time = time;
        _local = local;
        _logger = logger;
    }

    public async Task<SessionResponse> ForwardAsync(string owner, SessionRequest request, CancellationToken cancellationToken)
    {
        var id = Guid.NewGuid().ToString("N");
        var pending = new Pending(_time);
        _pending[id] = pending;
        try
        {
            bool delivered;
            try
            {
                delivered = await _broker.SendToNodeAsync(owner, EncodeRequest(id, request), cancellationToken);
            }
            catch (PubSubException e)
            {
                return Counted(request, "broker_failed", SessionResponse.Error(e.Code, e.Message));
            }
            if (!delivered)
            {
                // The owner is gone, and with it the session: the client starts over and recovers.
                return Counted(request, "owner_gone", SessionResponse.SessionNotFound(request.SessionId));
            }
            while (true)
            {
                var silent = _time.GetElapsedTime(pending.LastHeard);
                if (silent >= SilenceTimeout)
                {
                    Log.OwnerSilent(_logger, owner, request.SessionId, SilenceTimeout.TotalSeconds);
                    return Counted(request, "owner_silent", Unanswered(request));
                }
                try
                {
                    return Counted(request, "answered", await pending.Answer.Task.WaitAsync(SilenceTimeout - silent, _time, cancellationToken));
                }
                catch (TimeoutException)
                {
                    // Look again: a holding message may have come meanwhile.
                }
            }
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    private SessionResponse Counted(SessionRequest request, string outcome, SessionResponse response)
    {
        _metrics.Forwarded(request.Kind == SessionRequestKind.Poll ? "poll" : "send", outcome);
        return response;
    }

    /// <summary>
    /// What the client gets when the owner fell silent: the owner died, hangs, or a message was
    /// lost (a broker restart). An empty poll answer is always safe, because what the owner may
    /// have answered stays unacknowledged and comes again; the next poll then finds out whether
    /// the owner is gone (session_not_found at once). A send may have been carried out.
    /// </summary>
    private static SessionResponse Unanswered(SessionRequest request) => request.Kind == SessionRequestKind.Poll
        // Only the owner knows the session's encoding; the body is empty either way.
        ? SessionResponse.EmptyPoll(request.Encoding ?? FrameEncoding.Json)
        : SessionResponse.Error(PubSubErrorCodes.Timeout,
            $"The node that owns session '{request.SessionId}' did not confirm the frames in time; whether they were handled is unknown.");

    public void OnNodeMessage(ReadOnlyMemory<byte> message)
    {
        try
        {
            var newline = message.Span.IndexOf(FrameBatch.Separator);
            using var header = JsonDocument.Parse(newline < 0 ? message : message[..newline]);
            var root = header.RootElement;
            var body = newline < 0 ? ReadOnlyMemory<byte>.Empty : message[(newline + 1)..];
            var id = root.GetProperty("id").GetString()!;
            switch (root.GetProperty("kind").GetString())
            {
                case "holding":
                    _pending.GetValueOrDefault(id)?.Heard();
                    return;
                case "response":
                    if (_pending.TryGetValue(id, out var pending))
                    {
                        var contentType = root.TryGetProperty("contentType", out var type) ? type.GetString() : null;
                        pending.Answer.TrySetResult(new SessionResponse(root.GetProperty("status").GetInt32(), contentType, body));
                    }
                    return;
                case "request":
                    break;
                default:
                    // Another handler's message (NodeRequests).
                    return;
            }
            var request = new SessionRequest(
                root.GetProperty("type").GetString() == "poll" ? SessionRequestKind.Poll : SessionRequestKind.Send,
                root.GetProperty("session").GetString()!,
                root.GetProperty("user").GetString()!,
                root.GetProperty("ack").GetInt64(),
                body,
                root.TryGetProperty("encoding", out var encoding) ? FrameEncoding.Named(encoding.GetString() ?? "") : null);
            _ = AnswerAsync(id, root.GetProperty("from").GetString()!, request);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            Log.BadNodeMessage(_logger, e);
        }
    }

    private async Task AnswerAsync(string id, string from, SessionRequest request)
    {
        var holding = Encode(writer =>
        {
            writer.WriteString("kind"u8, "holding"u8);
            writer.WriteString("id"u8, id);
        }, ReadOnlyMemory<byte>.Empty);
        // Said at once (the request arrived) and then every interval until the response goes.
        using var heartbeat = _time.CreateTimer(_ => _ = SendQuietlyAsync(from, holding), null, TimeSpan.Zero, HoldingInterval);
        try
        {
            var response = await _local.HandleAsync(request, CancellationToken.None);
            heartbeat.Dispose();
            await _broker.SendToNodeAsync(from, EncodeResponse(id, response), CancellationToken.None);
        }
        catch (Exception e)
        {
            Log.AnswerFailed(_logger, request.SessionId, from, e);
        }
    }

    /// <summary>Sends a holding message; one that is lost is covered by the next.</summary>
    private async Task SendQuietlyAsync(string to, byte[] message)
    {
        try
        {
            await _broker.SendToNodeAsync(to, message, CancellationToken.None);
        }
        catch (Exception e) when (e is PubSubException or ObjectDisposedException)
        {
            Log.HoldingNotSent(_logger, to, e.Message);
        }
    }

    private byte[] EncodeRequest(string id, SessionRequest request) => Encode(writer =>
    {
        writer.WriteString("kind"u8, "request"u8);
        writer.WriteString("id"u8, id);
        writer.WriteString("from"u8, _identity.Id);
        writer.WriteString("type"u8, request.Kind == SessionRequestKind.Poll ? "poll"u8 : "send"u8);
        writer.WriteString("session"u8, request.SessionId);
        writer.WriteString("user"u8, request.UserKey);
        writer.WriteNumber("ack"u8, request.Ack);
        if (request.Encoding is { } encoding)
        {
            writer.WriteString("encoding"u8, encoding.Name);
        }
    }, request.Body);

    private static byte[] EncodeResponse(string id, SessionResponse response) => Encode(writer =>
    {
        writer.WriteString("kind"u8, "response"u8);
        writer.WriteString("id"u8, id);
        writer.WriteNumber("status"u8, response.Status);
        if (response.ContentType is not null)
        {
            writer.WriteString("contentType"u8, response.ContentType);
        }
    }, response.Body);

    private static byte[] Encode(Action<Utf8JsonWriter> header, ReadOnlyMemory<byte> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256 + body.Length);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            header(writer);
            writer.WriteEndObject();
        }
        buffer.Write([FrameBatch.Separator]);
        buffer.Write(body.Span);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>A forwarded request waiting for the owner: its answer, and when the owner last said anything about it.</summary>
    private sealed class Pending(TimeProvider time)
    {
        private long _lastHeard = time.GetTimestamp();

        public TaskCompletionSource<SessionResponse> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long LastHeard => Volatile.Read(ref _lastHeard);

        public void Heard() => Volatile.Write(ref _lastHeard, time.GetTimestamp());
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Node {Owner} said nothing for {Seconds} s about a forwarded request for session {SessionId}: it is gone, hangs, or a message was lost.")]
        public static partial void OwnerSilent(ILogger logger, string owner, string sessionId, double seconds);

        [LoggerMessage(2, LogLevel.Warning, "A node message could not be read.")]
        public static partial void BadNodeMessage(ILogger logger, Exception exception);

        [LoggerMessage(3, LogLevel.Error, "Answering a forwarded request for session {SessionId} from node {From} failed.")]
        public static partial void AnswerFailed(ILogger logger, string sessionId, string from, Exception exception);

        [LoggerMessage(4, LogLevel.Debug, "Telling node {To} that a forwarded request is still being handled failed: {Reason}")]
        public static partial void HoldingNotSent(ILogger logger, string to, string reason);
    }
}
