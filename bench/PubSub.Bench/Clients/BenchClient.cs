using System.Collections.Concurrent;
using PubSub.Bench.Measurement;
using PubSub.Bench.Protocols;

namespace PubSub.Bench.Clients;

/// <summary>
/// One connection of the generator, on any transport: it turns what arrives into frames,
/// records deliveries in <see cref="Stats"/> and answers what the protocol needs answered.
/// Subclasses move bytes; each has exactly one receive loop, which is the only caller of
/// <see cref="OnUnit"/>.
/// </summary>
public abstract class BenchClient : IAsyncDisposable
{
    private readonly TaskCompletionSource<FrameInfo> _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<long, TaskCompletionSource<FrameInfo>> _requests = new();
    private byte[] _carry = [];
    private int _carryLength;
    private long _nextId;
    private long _frames;
    private long _units;
    private long _errors;

    protected BenchClient(WireProtocol protocol, SubscriberStats? stats)
    {
        Protocol = protocol;
        Stats = stats;
    }

    public WireProtocol Protocol { get; }

    /// <summary>Where deliveries are counted; null for the publisher and idle connections.</summary>
    public SubscriberStats? Stats { get; }

    /// <summary>Frames received so far (the long-polling ack counts them).</summary>
    public long FramesReceived => Volatile.Read(ref _frames);

    /// <summary>
    /// Receive units so far: WebSocket messages, SSE data lines, poll bodies. Deliveries per unit
    /// says how much the server coalesced.
    /// </summary>
    public long UnitsReceived => Volatile.Read(ref _units);

    /// <summary>Bytes read off the network so far, framing and compression included (WebSocket subscribers).</summary>
    public virtual long WireBytesReceived => 0;

    /// <summary><c>error</c> frames and failed replies received.</summary>
    public long Errors => Volatile.Read(ref _errors);

    public string? LastError { get; private set; }

    /// <summary>The session id from <c>connected</c> (PubSub), when there is one.</summary>
    public string? SessionId { get; private set; }

    /// <summary>Why the connection ended, once it has: the server's disconnect reason or the failure.</summary>
    public string? CloseReason { get; private set; }

    /// <summary>True when the server ended the session with a disconnect frame (slow consumer, shutdown…).</summary>
    public bool Disconnected { get; private set; }

    public Task<FrameInfo> Connected => _connected.Task;

    public Task Subscribed => _subscribed.Task;

    public Task Closed => _closed.Task;

    public bool IsClosed => _closed.Task.IsCompleted;

    /// <summary>Sends one frame (or batch) to the server: a WebSocket message, or an HTTP send.</summary>
    public abstract ValueTask SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken);

    public abstract ValueTask DisposeAsync();

    /// <summary>Sends a request with an id and waits for its reply.</summary>
    public async Task<FrameInfo> RequestAsync(Func<long, byte[]> frame, TimeSpan timeout)
    {
        var id = Interlocked.Increment(ref _nextId);
        var reply = new TaskCompletionSource<FrameInfo>(TaskCreationOptions.RunContinuationsAsynchronously);
        _requests[id] = reply;
        try
        {
            using var cts = new CancellationTokenSource(timeout);
            await SendAsync(frame(id), cts.Token);
            return await reply.Task.WaitAsync(timeout);
        }
        finally
        {
            _requests.TryRemove(id, out _);
        }
    }

    /// <summary>
    /// Takes one unit of received data (a WebSocket message, a poll body, an SSE data line, or
    /// part of one) and handles every complete frame in it. <paramref name="unitComplete"/> says
    /// that the unit ends here, which ends a PubSub frame too. <paramref name="now"/> is when the
    /// data arrived: every frame in it is timed from that one reading of the clock.
    /// </summary>
    protected void OnUnit(ReadOnlySpan<byte> data, bool unitComplete, long now)
    {
        Volatile.Write(ref _units, _units + 1);
        if (_carryLength == 0)
        {
            // The common case: whole frames in one unit, read where they lie.
            var used = OnFrames(data, unitComplete, now);
            Carry(data[used..]);
            return;
        }
        Carry(data);
        var carried = OnFrames(_carry.AsSpan(0, _carryLength), unitComplete, now);
        _carry.AsSpan(carried, _carryLength - carried).CopyTo(_carry);
        _carryLength -= carried;
    }

    /// <summary>Handles every complete frame at the start of <paramref name="data"/>; returns the bytes they took.</summary>
    private int OnFrames(ReadOnlySpan<byte> data, bool unitComplete, long now)
    {
        var used = 0;
        while (used < data.Length && Protocol.TryCutFrame(data[used..], unitComplete, out var frame, out var consumed))
        {
            OnFrameText(data[used..][frame], now);
            used += consumed;
        }
        return used;
    }

    private void Carry(ReadOnlySpan<byte> data)
    {
        if (_carryLength + data.Length > _carry.Length)
        {
            Array.Resize(ref _carry, Math.Max(_carryLength + data.Length, Math.Max(256, _carry.Length * 2)));
        }
        data.CopyTo(_carry.AsSpan(_carryLength));
        _carryLength += data.Length;
    }

    private void OnFrameText(ReadOnlySpan<byte> frame, long now)
    {
        // Blank lines are allowed between PubSub frames and mean nothing.
        if (frame.IndexOfAnyExcept((byte)' ', (byte)'\r', (byte)'\t') < 0)
        {
            return;
        }
        Volatile.Write(ref _frames, _frames + 1);
        if (Stats is { } stats && BenchPayload.TryRead(frame, out var sent, out var sequence))
        {
            stats.OnDelivery(sent, sequence, now);
            return;
        }
        OnFrame(Protocol.Classify(frame));
    }

    private void OnFrame(FrameInfo frame)
    {
        switch (frame.Kind)
        {
            case FrameKind.Connected:
                SessionId = frame.Text;
                _connected.TrySetResult(frame);
                break;
            case FrameKind.Subscribed:
                _subscribed.TrySetResult();
                break;
            case FrameKind.Reply:
                if (frame.Failed)
                {
                    RecordError(frame.Text!);
                }
                if (_requests.TryRemove(frame.Id, out var request))
                {
                    request.TrySetResult(frame);
                }
                break;
            case FrameKind.Ping:
                if (Protocol.Pong is { } pong)
                {
                    _ = SendQuietlyAsync(pong);
                }
                break;
            case FrameKind.Disconnect:
                Disconnected = true;
                MarkClosed($"disconnect: {frame.Text}");
                break;
            case FrameKind.Error:
                RecordError(frame.Text ?? "error");
                break;
        }
    }

    private void RecordError(string text)
    {
        LastError = text;
        Interlocked.Increment(ref _errors);
    }

    /// <summary>Sends without letting a failure escape: the receive loop notices a dead connection.</summary>
    public async Task SendQuietlyAsync(ReadOnlyMemory<byte> frame)
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await SendAsync(frame, cts.Token);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            MarkClosed($"send failed: {e.Message}");
        }
    }

    /// <summary>Records that the connection ended; the first reason wins.</summary>
    protected void MarkClosed(string reason)
    {
        if (_closed.TrySetResult())
        {
            CloseReason = reason;
            var failure = new IOException($"The connection closed ({reason}).");
            _connected.TrySetException(failure);
            _subscribed.TrySetException(failure);
            foreach (var request in _requests.Values)
            {
                request.TrySetException(failure);
            }
        }
    }
}
