using System.Collections.Concurrent;
using System.Threading.Channels;
using PubSub.Client.Protocol;

namespace PubSub.Client.Connections;

/// <summary>
/// The client's requests: ids, the bounded shared queue that publishes, history reads and pings
/// wait in (it survives reconnects), the requests that wait for a reply, their timeouts, and
/// failing what waits when a connection or the client ends.
/// </summary>
internal sealed class RequestTracker
{
    public const int DefaultMaxMessageSize = 65_536;

    private readonly ConcurrentDictionary<long, OutboundRequest> _pending = new();
    private readonly Channel<OutboundRequest> _shared;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;
    private long _nextId;
    private int _maxMessageSize = DefaultMaxMessageSize;

    public RequestTracker(PubSubClientOptions options)
    {
        _timeout = options.RequestTimeout;
        _time = options.TimeProvider;
        _shared = Channel.CreateBounded<OutboundRequest>(new BoundedChannelOptions(options.SendQueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>What the connection in use sends after its own control frames.</summary>
    public ChannelReader<OutboundRequest> Shared => _shared.Reader;

    /// <summary>The largest frame the server accepts (negotiate's <c>maxMessageSize</c>).</summary>
    public int MaxMessageSize
    {
        get => Volatile.Read(ref _maxMessageSize);
        set => Volatile.Write(ref _maxMessageSize, value);
    }

    public TimeSpan Timeout => _timeout;

    /// <summary>The encoding the last negotiate settled on: what a request is written in when it is made.</summary>
    public FrameCodec Codec { get; set; } = JsonFrameCodec.Instance;

    public TimeProvider Time => _time;

    /// <summary>
    /// Queues a frame on one connection's control queue (subscribe, unsubscribe), ahead of the
    /// shared queue; its reply, if <paramref name="track"/>, completes <see cref="OutboundRequest.Reply"/>
    /// and runs <paramref name="onReplyInline"/> on the receive loop.
    /// </summary>
    public OutboundRequest Control(string type, Func<FrameCodec, long, byte[]> build, Connection target, Action<ServerFrame, Connection>? onReplyInline = null, bool track = true)
    {
        var id = Interlocked.Increment(ref _nextId);
        var request = new OutboundRequest(id, type, build, target.Codec, onReplyInline) { Target = target };
        if (track)
        {
            _pending[id] = request;
        }
        target.EnqueueControl(request);
        return request;
    }

    /// <summary>Waits for a control request's reply within the request timeout; it is forgotten either way.</summary>
    public async Task<ServerFrame> ReplyAsync(OutboundRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return await request.Reply.WaitAsync(_timeout, _time, cancellationToken);
        }
        finally
        {
            _pending.TryRemove(request.Id, out _);
        }
    }

    /// <summary>
    /// Sends a request through the shared queue (waiting for room and, while reconnecting, for the
    /// next connection) and returns its parsed reply, all within <paramref name="within"/>
    /// (default <see cref="PubSubClientOptions.RequestTimeout"/>).
    /// </summary>
    public async Task<T> SendAsync<T>(string type, Func<FrameCodec, long, byte[]> build, Func<ServerFrame, T> parse, CancellationToken cancellationToken, TimeSpan? within = null)
    {
        var budget = within ?? _timeout;
        var id = Interlocked.Increment(ref _nextId);
        var request = new OutboundRequest(id, type, build, Codec);
        if (request.Frame.Length > MaxMessageSize)
        {
            throw new PubSubException(PubSubErrorCodes.MessageTooLarge,
                $"The {type} frame is {request.Frame.Length} bytes; the server accepts at most {MaxMessageSize}. Nothing was sent.");
        }
        _pending[id] = request;
        using var timeout = new CancellationTokenSource(budget, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await _shared.Writer.WriteAsync(request, linked.Token);
            var reply = await request.Reply.WaitAsync(linked.Token);
            if (reply.IsErrorReply)
            {
                throw new PubSubException(reply.ErrorCode!, reply.ErrorMessage!);
            }
            return parse(reply);
        }
        catch (OperationCanceledException e) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new PubSubException(PubSubErrorCodes.Timeout, request.TryAbandon()
                ? $"The {type} could not be sent within {_timeout.TotalSeconds:0.###} s; it was not sent."
                : $"No reply to the {type} within {_timeout.TotalSeconds:0.###} s; it may or may not have taken effect.", e);
        }
        catch (OperationCanceledException)
        {
            request.TryAbandon();
            throw;
        }
        catch (ChannelClosedException e)
        {
            throw new PubSubException(PubSubErrorCodes.Closed, "The client was disposed; nothing was sent.", e);
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    /// <summary>A reply came: the request it answers completes (on the receive loop, in frame order).</summary>
    public void OnReply(ServerFrame reply, Connection connection)
    {
        if (_pending.TryRemove(reply.Id, out var request))
        {
            request.Complete(reply, connection);
        }
    }

    /// <summary>The server refused a whole /send batch: each request in it fails with the error.</summary>
    public void OnBatchRefused(IReadOnlyList<OutboundRequest> requests, PubSubException error)
    {
        foreach (var request in requests)
        {
            if (_pending.TryRemove(request.Id, out _))
            {
                request.Fail(error);
            }
        }
    }

    /// <summary>Completes when every request sent on (or queued for) <paramref name="connection"/> has its answer, or failed.</summary>
    public Task AnsweredOn(Connection connection) =>
        Task.WhenAll(_pending.Values.Where(r => r.SentOn == connection || r.Target == connection).Select(r => (Task)r.Reply))
            .ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    /// <summary>The connection ended: what went out on it fails (its outcome is unknown); what waits in the shared queue stays.</summary>
    public void FailOn(Connection connection)
    {
        var error = connection.Closed.IsCompletedSuccessfully ? connection.Closed.Result.Error : null;
        foreach (var request in _pending.Values)
        {
            if ((request.SentOn == connection || request.Target == connection) && _pending.TryRemove(request.Id, out _))
            {
                request.Fail(new PubSubException(PubSubErrorCodes.ConnectionLost,
                    $"The connection was lost before the reply to the {request.Type} came; it may or may not have taken effect{(error is null ? "." : $" ({error.Message})")}",
                    error));
            }
        }
    }

    /// <summary>Fails every request that waits to be sent or answered.</summary>
    public void FailAll(Exception reason)
    {
        while (_shared.Reader.TryRead(out var request))
        {
            request.TryAbandon();
        }
        foreach (var id in _pending.Keys)
        {
            if (_pending.TryRemove(id, out var request))
            {
                request.TryAbandon();
                request.Fail(reason is PubSubException ? reason : new PubSubException(PubSubErrorCodes.Closed, reason.Message, reason));
            }
        }
    }

    /// <summary>No more requests: the client was disposed.</summary>
    public void Complete() => _shared.Writer.TryComplete();
}
