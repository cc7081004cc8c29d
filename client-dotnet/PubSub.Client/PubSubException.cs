using System.Net;

namespace PubSub.Client;

/// <summary>
/// A failure with a protocol error code: an error reply from the server (the code it sent, such as
/// <c>forbidden</c> or <c>unknown_channel</c>), or a failure the client detected (such as
/// <c>timeout</c> or <c>connection_lost</c>). <see cref="PubSubErrorCodes"/> lists the codes.
/// </summary>
public class PubSubException : Exception
{
    /// <summary>Creates an exception with a protocol error code.</summary>
    public PubSubException(string code, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        ArgumentException.ThrowIfNullOrEmpty(code);
        Code = code;
    }

    /// <summary>Creates an exception for an HTTP error answer of the server.</summary>
    public PubSubException(string code, string message, HttpStatusCode statusCode)
        : this(code, message)
    {
        StatusCode = statusCode;
    }

    /// <summary>The error code: the server's (section 2.7 of the protocol) or the client's own (<see cref="PubSubErrorCodes"/>).</summary>
    public string Code { get; }

    /// <summary>The HTTP status, when the error came as an HTTP answer (negotiate, SSE, long-polling, /send).</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>
    /// Whether trying again cannot help, so the client stops reconnecting after it: the server
    /// refused the client itself (an HTTP 4xx from negotiate, a disconnect code of 4500–4999),
    /// speaks another protocol version, or offers none of the allowed transports.
    /// </summary>
    public bool IsTerminal { get; internal init; }
}
