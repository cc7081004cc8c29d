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
/// <param name="Encoding">
/// For a send: the body's encoding (its Content-Type). For a poll: the encoding its
/// <c>encoding</c> parameter named, which must be the session's; null when it named none.
/// </param>
internal sealed record SessionRequest(SessionRequestKind Kind, string SessionId, string UserKey, long Ack, ReadOnlyMemory<byte> Body, FrameEncoding? Encoding = null);

/// <summary>What the owner answers: an HTTP status, a content type and a body.</summary>
internal sealed record SessionResponse(int Status, string? ContentType, ReadOnlyMemory<byte> Body)
{
    public static readonly SessionResponse NoContent = new(204, null, ReadOnlyMemory<byte>.Empty);

    private static readonly SessionResponse[] s_emptyPolls = [.. FrameEncoding.All.Select(e => new SessionResponse(200, e.ContentType, ReadOnlyMemory<byte>.Empty))];

    /// <summary>A poll answered with nothing (it timed out, or a newer poll took over), with the content type of <paramref name="encoding"/>.</summary>
    public static SessionResponse EmptyPoll(FrameEncoding encoding) => s_emptyPolls[encoding.Id];

    public static SessionResponse Frames(FrameEncoding encoding, ReadOnlyMemory<byte> batch) => new(200, encoding.ContentType, batch);

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
