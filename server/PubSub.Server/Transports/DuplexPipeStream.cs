using System.Buffers;
using System.IO.Pipelines;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;

namespace PubSub.Transports;

/// <summary>
/// A connection's pipes as the stream <see cref="WebSocket.CreateFromStream(Stream, WebSocketCreationOptions)"/>
/// needs (<see cref="WebSocketHandoff"/>). Disposing it, which is how an aborted WebSocket lets go
/// of its stream, ends a read or write that is waiting, and every one after.
/// </summary>
internal sealed class DuplexPipeStream(IDuplexPipe pipe) : Stream
{
    private volatile bool _disposed;

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    // Pooled: a read that waits, and a write the client's pace holds up, would each allocate a box otherwise.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ReadResult result;
        while (true)
        {
            if (_disposed)
            {
                return 0;
            }
            result = await pipe.Input.ReadAsync(cancellationToken);
            if (!result.IsCanceled)
            {
                break;
            }
            // Disposing cancels the read; the next look at _disposed ends it.
            pipe.Input.AdvanceTo(result.Buffer.Start);
        }
        var data = result.Buffer;
        // A zero-byte read waits for data and takes none: the WebSocket's idle receive holds no buffer.
        var count = (int)Math.Min(buffer.Length, data.Length);
        data.Slice(0, count).CopyTo(buffer.Span);
        pipe.Input.AdvanceTo(data.GetPosition(count));
        return count;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ThrowIfEnded(await pipe.Output.WriteAsync(buffer, cancellationToken));
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async Task FlushAsync(CancellationToken cancellationToken) =>
        ThrowIfEnded(await pipe.Output.FlushAsync(cancellationToken));

    /// <summary>
    /// A pipe writer reports what a socket would throw as flags: a write that succeeded on a
    /// connection whose peer is gone would let the WebSocket believe it sent, and its session keep
    /// queueing into nothing.
    /// </summary>
    private static void ThrowIfEnded(FlushResult result)
    {
        if (result.IsCanceled)
        {
            throw new OperationCanceledException("The stream was disposed while a write waited.");
        }
        if (result.IsCompleted)
        {
            throw new IOException("The connection no longer sends: its transport stopped reading what is written.");
        }
    }

    public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();
    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();
    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            pipe.Input.CancelPendingRead();
            pipe.Output.CancelPendingFlush();
        }
        base.Dispose(disposing);
    }
}
