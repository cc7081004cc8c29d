namespace PubSub;

/// <summary>
/// A failure with a protocol error code (see <see cref="PubSubErrorCodes"/>), for example a
/// publish to a channel that no template matches, or a broker that cannot be reached.
/// </summary>
public class PubSubException : Exception
{
    /// <summary>A failure with protocol error <paramref name="code"/> and a message that says what happened.</summary>
    public PubSubException(string code, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        ArgumentException.ThrowIfNullOrEmpty(code);
        Code = code;
    }

    /// <summary>The protocol error code, for example <c>unknown_channel</c>.</summary>
    public string Code { get; }
}
