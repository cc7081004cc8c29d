namespace PubSub.Client.Transports;

/// <summary>
/// Moves frames between the client and one server session (docs/protocol.md, section 3). A
/// transport knows nothing of channels or requests: it delivers each frame from the server to its
/// <see cref="ITransportSink"/>, in order, one at a time, and sends batches it is given.
/// </summary>
internal interface ITransport : IAsyncDisposable
{
    PubSubTransport Kind { get; }

    /// <summary>The encoding of the session, both ways: the negotiated one where the transport can carry it.</summary>
    Protocol.FrameCodec Codec { get; }

    /// <summary>The receive loop once started (for the client's account of its background work).</summary>
    Task? Receiving { get; }

    /// <summary>
    /// Opens the transport (the WebSocket handshake, the event stream's headers, the first poll)
    /// and starts delivering frames to <paramref name="sink"/>. Throws when it cannot open.
    /// </summary>
    Task StartAsync(ITransportSink sink, CancellationToken cancellationToken);

    /// <summary>Called when the <c>connected</c> frame names the session, before the next frame is read.</summary>
    void OnConnected(string sessionId);

    /// <summary>
    /// Sends one batch. Returns null when the server took it; a <see cref="PubSubException"/> when
    /// the server refused this batch but the session goes on (an HTTP error for one /send). Throws
    /// when the transport failed: the session is lost.
    /// </summary>
    ValueTask<PubSubException?> SendAsync(ReadOnlyMemory<byte> batch, CancellationToken cancellationToken);

    /// <summary>Ends the session cleanly where the transport can (a WebSocket close handshake), within <paramref name="timeout"/>.</summary>
    Task CloseAsync(TimeSpan timeout);
}

/// <summary>Where a transport delivers what it receives. Called from the transport's receive loop, one call at a time.</summary>
internal interface ITransportSink
{
    /// <summary>One frame (a JSON object without the newline, or one MessagePack value), for <see cref="ITransport.Codec"/> to parse.</summary>
    void OnFrame(ReadOnlySpan<byte> frame);

    /// <summary>Something arrived that is not a frame but proves the connection alive (an SSE comment).</summary>
    void OnActivity();

    /// <summary>The transport stopped receiving, for good. Called once.</summary>
    void OnClosed(TransportClosed closed);
}

/// <summary>How a transport ended.</summary>
/// <param name="Error">What ended it.</param>
/// <param name="CloseCode">The WebSocket close code, when the server closed the socket with one.</param>
/// <param name="CloseReason">The WebSocket close description that came with the code.</param>
internal sealed record TransportClosed(Exception Error, int? CloseCode = null, string? CloseReason = null);
