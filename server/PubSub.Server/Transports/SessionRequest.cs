using System.Text.Json;
using PubSub.Http;
using PubSub.Protocol;

namespace PubSub.Transports;

internal enum SessionRequestKind : byte
{
    Send,
    Poll,
}

/// <summary>
/// A <c>/send</c> or <c>/poll</c> for an existing session, taken out of HTTP so that the node
/// owning the session handles it the same way whether the client reached that node directly or
/// another node forwarded it through the broker.
/// </summary>
/// <param name="UserKey">The identity of the caller, to compare with the session's.</param>
/// <param name="Ack">For a poll: the number of frames the client has received.</param>
/// <param name="Body">For a send: the batch of client frames.</param>
internal sealed record SessionRequest(SessionRequestKind Kind, string SessionId, string UserKey, long Ack, ReadOnlyMemory<byte> Body);

/// <summary>What the owner answers: an HTTP status, a content type and a body.</summary>
internal sealed record SessionResponse(int Status, string? ContentType, ReadOnlyMemory<byte> Body)
{
    public const string FramesContentType = "text/plain; charset=utf-8";

    public static readonly SessionResponse NoContent = new(204, null, ReadOnlyMemory<byte>.Empty);

    public static readonly SessionResponse EmptyPoll = new(200, FramesContentType, ReadOnlyMemory<byte>.Empty);

    public static SessionResponse Frames(ReadOnlyMemory<byte> batch) => new(200, FramesContentType, batch);

    public static SessionResponse Error(string code, string message)
    {
        var body = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(body, ServerFrames.WriterOptions))
        {
            HttpErrors.WriteBody(writer, code, message);
        }
        return new(HttpErrors.StatusOf(code), "application/json", body.WrittenMemory);
    }

    public static SessionResponse SessionNotFound(string sessionId) => Error(PubSubErrorCodes.SessionNotFound,
        $"Session '{sessionId}' does not exist (it expired, closed, or its node is gone): reconnect and resubscribe with 'since' to recover.");
}
