using System.Buffers;
using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;
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
/// <c>{"kind":"request","id":..,"from":..,"type":"send|poll","session":..,"user":..,"ack":..}\n&lt;body&gt;</c>
/// and <c>{"kind":"response","id":..,"status":..,"contentType":..}\n&lt;body&gt;</c>.
/// </remarks>
internal sealed partial class SessionForwarder
{
    /// <summary>How long to wait for the owner to answer a send; a poll waits the poll timeout on top.</summary>
    public static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(15);

    private readonly ConcurrentDictionary<string, TaskCompletionSource<SessionResponse>> _pending = new(StringComparer.Ordinal);
    private readonly PubSubNode _node;
    private readonly SessionRequestHandler _local;
    private readonly ILogger _logger;

    public SessionForwarder(PubSubNode node, SessionRequestHandler local, ILogger<SessionForwarder> logger)
    {
        _node = node;
        _local = local;
        _logger = logger;
        node.Hub.OnNodeMessage(OnNodeMessage);
    }

    public async Task<SessionResponse> ForwardAsync(string owner, SessionRequest request, CancellationToken cancellationToken)
    {
        var id = Guid.NewGuid().ToString("N");
        var answer = new TaskCompletionSource<SessionResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        try
        {
            bool delivered;
            try
            {
                delivered = await _node.Broker.SendToNodeAsync(owner, EncodeRequest(id, request), cancellationToken);
            }
            catch (PubSubException e)
            {
                return SessionResponse.Error(e.Code, e.Message);
            }
            if (!delivered)
            {
                // The owner is gone, and with it the session: the client starts over and recovers.
                return SessionResponse.SessionNotFound(request.SessionId);
            }
            var timeout = request.Kind == SessionRequestKind.Poll ? _node.Options.PollTimeout + AnswerTimeout : AnswerTimeout;
            return await answer.Task.WaitAsync(timeout, _node.Time, cancellationToken);
        }
        catch (TimeoutException)
        {
            Log.OwnerSilent(_logger, owner, request.SessionId);
            return SessionResponse.SessionNotFound(request.SessionId);
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    private void OnNodeMessage(ReadOnlyMemory<byte> message)
    {
        try
        {
            var newline = message.Span.IndexOf(FrameBatch.Separator);
            using var header = JsonDocument.Parse(newline < 0 ? message : message[..newline]);
            var root = header.RootElement;
            var body = newline < 0 ? ReadOnlyMemory<byte>.Empty : message[(newline + 1)..];
            var id = root.GetProperty("id").GetString()!;
            if (root.GetProperty("kind").GetString() == "response")
            {
                if (_pending.TryGetValue(id, out var answer))
                {
                    var contentType = root.TryGetProperty("contentType", out var type) ? type.GetString() : null;
                    answer.TrySetResult(new SessionResponse(root.GetProperty("status").GetInt32(), contentType, body));
                }
                return;
            }
            var request = new SessionRequest(
                root.GetProperty("type").GetString() == "poll" ? SessionRequestKind.Poll : SessionRequestKind.Send,
                root.GetProperty("session").GetString()!,
                root.GetProperty("user").GetString()!,
                root.GetProperty("ack").GetInt64(),
                body);
            _ = AnswerAsync(id, root.GetProperty("from").GetString()!, request);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            Log.BadNodeMessage(_logger, e);
        }
    }

    private async Task AnswerAsync(string id, string from, SessionRequest request)
    {
        try
        {
            var response = await _local.HandleAsync(request, CancellationToken.None);
            await _node.Broker.SendToNodeAsync(from, EncodeResponse(id, response), CancellationToken.None);
        }
        catch (Exception e)
        {
            Log.AnswerFailed(_logger, request.SessionId, from, e);
        }
    }

    private byte[] EncodeRequest(string id, SessionRequest request) => Encode(writer =>
    {
        writer.WriteString("kind"u8, "request"u8);
        writer.WriteString("id"u8, id);
        writer.WriteString("from"u8, _node.NodeId);
        writer.WriteString("type"u8, request.Kind == SessionRequestKind.Poll ? "poll"u8 : "send"u8);
        writer.WriteString("session"u8, request.SessionId);
        writer.WriteString("user"u8, request.UserKey);
        writer.WriteNumber("ack"u8, request.Ack);
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

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Node {Owner} did not answer a forwarded request for session {SessionId} in time.")]
        public static partial void OwnerSilent(ILogger logger, string owner, string sessionId);

        [LoggerMessage(2, LogLevel.Warning, "A node message could not be read.")]
        public static partial void BadNodeMessage(ILogger logger, Exception exception);

        [LoggerMessage(3, LogLevel.Error, "Answering a forwarded request for session {SessionId} from node {From} failed.")]
        public static partial void AnswerFailed(ILogger logger, string sessionId, string from, Exception exception);
    }
}
