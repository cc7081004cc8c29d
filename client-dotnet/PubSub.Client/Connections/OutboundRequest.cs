using PubSub.Client.Protocol;

namespace PubSub.Client.Connections;

/// <summary>
/// A frame waiting to go out and, when it has an id, its reply. It is either sent or abandoned
/// (its caller stopped waiting first), never both, so a caller that gives up knows whether the
/// request left the client.
/// </summary>
internal sealed class OutboundRequest
{
    private const int Pending = 0;
    private const int Sent = 1;
    private const int Abandoned = 2;

    private readonly TaskCompletionSource<ServerFrame> _reply = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Action<ServerFrame, Connection>? _onReplyInline;
    private readonly Func<FrameCodec, long, byte[]> _build;
    private readonly FrameCodec _codec;
    private int _state;

    /// <param name="id">The request id (0: no reply expected).</param>
    /// <param name="type">The frame type, for messages.</param>
    /// <param name="build">Writes the frame in an encoding; called now with <paramref name="codec"/>,
    /// and again only if the request goes out on a connection of another encoding.</param>
    /// <param name="codec">The encoding the request is expected to go out in.</param>
    /// <param name="onReplyInline">Runs on the receive loop before the next frame is handled, for
    /// replies whose effect the following frames depend on (a subscribe's reply comes before its messages).</param>
    public OutboundRequest(long id, string type, Func<FrameCodec, long, byte[]> build, FrameCodec codec, Action<ServerFrame, Connection>? onReplyInline = null)
    {
        Id = id;
        Type = type;
        _build = build;
        _codec = codec;
        Frame = build(codec, id);
        _onReplyInline = onReplyInline;
        if (onReplyInline is not null)
        {
            // Its reply is handled inline and nobody awaits the task; a failure needs observing.
            _reply.Task.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    /// <summary>The request id; 0 for a frame that gets no reply (pong).</summary>
    public long Id { get; }

    public string Type { get; }

    /// <summary>The frame in the encoding it was built for.</summary>
    public byte[] Frame { get; }

    /// <summary>
    /// The frame in <paramref name="codec"/>'s encoding: a request that waited in the shared queue
    /// may go out on a connection of another encoding (a MessagePack client that fell back to SSE,
    /// which is JSON), and is written again for it.
    /// </summary>
    public byte[] FrameFor(FrameCodec codec) => codec == _codec ? Frame : _build(codec, Id);

    /// <summary>For a frame queued on one connection only (subscribe, unsubscribe, pong): that connection.</summary>
    public Connection? Target { get; init; }

    /// <summary>The connection it went out on, once sent.</summary>
    public Connection? SentOn { get; private set; }

    public bool IsAbandoned => Volatile.Read(ref _state) == Abandoned;

    public Task<ServerFrame> Reply => _reply.Task;

    /// <summary>Claims the request for sending; false when its caller abandoned it.</summary>
    public bool TryMarkSent(Connection connection)
    {
        if (Interlocked.CompareExchange(ref _state, Sent, Pending) != Pending)
        {
            return false;
        }
        SentOn = connection;
        return true;
    }

    /// <summary>Withdraws the request; true when it had not been sent (and now never will be).</summary>
    public bool TryAbandon() => Interlocked.CompareExchange(ref _state, Abandoned, Pending) == Pending;

    public void Complete(ServerFrame reply, Connection connection)
    {
        _onReplyInline?.Invoke(reply, connection);
        _reply.TrySetResult(reply);
    }

    public void Fail(Exception error) => _reply.TrySetException(error);
}
