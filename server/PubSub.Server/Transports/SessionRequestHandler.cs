using PubSub.Protocol;
using PubSub.Sessions;

namespace PubSub.Transports;

/// <summary>
/// Handles <c>/send</c> and <c>/poll</c> on the node that owns the session, whether the request
/// came straight from the client or was forwarded by another node: the session must exist, belong
/// to the caller's identity, and be on a transport that uses the request.
/// </summary>
internal sealed class SessionRequestHandler(SessionRegistry sessions, SessionFrameHandler frames, LongPollingTransport polling)
{
    public async Task<SessionResponse> HandleAsync(SessionRequest request, CancellationToken cancellationToken)
    {
        if (request.Kind == SessionRequestKind.Poll)
        {
            if (polling.Find(request.SessionId) is not { } poll)
            {
                return sessions.Find(request.SessionId) is null
                    ? SessionResponse.SessionNotFound(request.SessionId)
                    : SessionResponse.Error(PubSubErrorCodes.BadRequest, "The session is not a long-polling session.");
            }
            if (!IsOwnedBy(poll.Session, request.UserKey))
            {
                return NotYours();
            }
            if (request.Encoding is { } named && named != poll.Session.Encoding)
            {
                return SessionResponse.Error(PubSubErrorCodes.BadRequest,
                    $"The session was opened with encoding '{poll.Session.Encoding.Name}', not '{named.Name}'; a session keeps the encoding it was opened with.");
            }
            return await polling.PollAsync(poll, request.Ack, cancellationToken);
        }

        if (sessions.Find(request.SessionId) is not { } session)
        {
            return SessionResponse.SessionNotFound(request.SessionId);
        }
        if (!IsOwnedBy(session, request.UserKey))
        {
            return NotYours();
        }
        if (session.Transport == TransportNames.WebSocket)
        {
            return SessionResponse.Error(PubSubErrorCodes.BadRequest, "A WebSocket session sends its frames on the socket, not through /send.");
        }
        // Frames that arrived are handled even if the caller goes away meanwhile: only the
        // session's end stops them.
        await frames.HandleBatchAsync(session, request.Encoding ?? FrameEncoding.Json, request.Body, session.Closed);
        return SessionResponse.NoContent;
    }

    private static bool IsOwnedBy(Session session, string userKey) => session.UserKey is { } key && string.Equals(key, userKey, StringComparison.Ordinal);

    private static SessionResponse NotYours() =>
        SessionResponse.Error(PubSubErrorCodes.Forbidden, "The session belongs to another identity.");
}
