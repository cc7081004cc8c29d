namespace PubSub.Client;

/// <summary>The arguments of <see cref="PubSubClient.Error"/>: a failure that belongs to no request.</summary>
public sealed class PubSubErrorEventArgs : EventArgs
{
    internal PubSubErrorEventArgs(Exception error) => Error = error;

    /// <summary>
    /// What went wrong: a <see cref="PubSubException"/> with code <c>bad_frame</c> for input from
    /// the server that is not valid protocol, the server's code for an <c>error</c> frame, or the
    /// reason a transport or a connection failed.
    /// </summary>
    public Exception Error { get; }
}
