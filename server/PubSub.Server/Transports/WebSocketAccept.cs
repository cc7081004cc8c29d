using System.Security.Cryptography;
using System.Text;

namespace PubSub.Transports;

/// <summary>The value of a 101's <c>Sec-WebSocket-Accept</c> (RFC 6455, section 4.2.2). bench/RawReference compiles this same file.</summary>
internal static class WebSocketAccept
{
    /// <summary>The client's key and the protocol's GUID, hashed with SHA-1, in base64.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5350", Justification = "RFC 6455 names SHA-1; the hash proves a WebSocket handshake, it protects nothing.")]
    public static string Of(string key) =>
        Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
}
