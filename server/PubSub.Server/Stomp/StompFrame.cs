namespace PubSub.Stomp;

/// <summary>
/// A STOMP frame as read from a client: its command, its headers in the order they came (names
/// and values unescaped), and its body, which points into the message it was read from and is
/// valid only while that message is being handled.
/// </summary>
internal sealed class StompFrame(string command, IReadOnlyList<KeyValuePair<string, string>> headers, ReadOnlyMemory<byte> body)
{
    public string Command { get; } = command;

    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; } = headers;

    public ReadOnlyMemory<byte> Body { get; } = body;

    /// <summary>
    /// The header's value, or null. A header repeated in one frame counts once, with its first
    /// value (STOMP 1.2, "Repeated Header Entries").
    /// </summary>
    public string? this[string name] => First(Headers, name);

    /// <summary>The first value of the header <paramref name="name"/> in <paramref name="headers"/>, or null.</summary>
    public static string? First(IReadOnlyList<KeyValuePair<string, string>> headers, string name)
    {
        foreach (var (key, value) in headers)
        {
            if (key == name)
            {
                return value;
            }
        }
        return null;
    }
}
