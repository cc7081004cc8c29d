using System.Security.Cryptography;

namespace PubSub;

/// <summary>Random identifiers: node ids, epochs and session ids.</summary>
internal static class Ids
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>A node id: 8 lowercase letters and digits, starting with a letter.</summary>
    public static string NewNodeId() => "n" + RandomNumberGenerator.GetString(Alphabet, 7);

    /// <summary>An epoch: 8 lowercase letters and digits (41 bits: collisions between restarts of one channel are negligible).</summary>
    public static string NewEpoch() => RandomNumberGenerator.GetString(Alphabet, 8);

    /// <summary>A session id: the owner node's id, a dot, and 128 random bits in base64url (22 characters).</summary>
    public static string NewSessionId(string nodeId)
    {
        Span<byte> random = stackalloc byte[16];
        RandomNumberGenerator.Fill(random);
        return nodeId + "." + Convert.ToBase64String(random).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    /// <summary>The node that owns a session, from the session's id; null when the id is malformed.</summary>
    public static string? OwnerOf(string sessionId)
    {
        var dot = sessionId.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 && sessionId.Length - dot - 1 == 22 ? sessionId[..dot] : null;
    }

    public static bool IsValidNodeId(string? nodeId) =>
        !string.IsNullOrEmpty(nodeId) && nodeId.Length <= 64 && nodeId.All(char.IsAsciiLetterOrDigit);
}
