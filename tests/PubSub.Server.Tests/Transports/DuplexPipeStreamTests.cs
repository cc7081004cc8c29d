using System.Buffers;
using System.IO.Pipelines;
using PubSub.Transports;

namespace PubSub.Server.Tests.Transports;

/// <summary>The stream a handed-over WebSocket runs on: how it ends is how the session learns its connection is gone.</summary>
public sealed class DuplexPipeStreamTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>The stream's side of two pipes, and the connection's side: what it reads from toStream, what it writes lands in fromStream.</summary>
    private sealed class Connection
    {
        public Pipe ToStream { get; } = new();
        public Pipe FromStream { get; } = new(new PipeOptions(pauseWriterThreshold: 8, resumeWriterThreshold: 4, useSynchronizationContext: false));
        public DuplexPipeStream Stream { get; }

        public Connection() => Stream = new DuplexPipeStream(new Duplex(ToStream.Reader, FromStream.Writer));

        private sealed record Duplex(PipeReader Input, PipeWriter Output) : IDuplexPipe;
    }

    [Fact]
    public async Task A_write_or_flush_after_the_transport_stopped_reading_throws_IOException()
    {
        var connection = new Connection();
        await connection.Stream.WriteAsync(new byte[] { 1, 2 }).AsTask().WaitAsync(Timeout);

        // Kestrel's transport completes its reader when the socket's peer has gone.
        await connection.FromStream.Reader.CompleteAsync();

        var write = await Assert.ThrowsAsync<IOException>(() => connection.Stream.WriteAsync(new byte[] { 3 }).AsTask().WaitAsync(Timeout));
        Assert.Contains("no longer sends", write.Message);
        await Assert.ThrowsAsync<IOException>(() => connection.Stream.FlushAsync().WaitAsync(Timeout));
    }

    [Fact]
    public async Task Disposing_ends_a_waiting_read_with_zero_and_a_waiting_write_with_cancellation_and_keeps_what_was_written()
    {
        var connection = new Connection();
        var read = connection.Stream.ReadAsync(new byte[16]).AsTask();
        // Past the pause threshold: the write waits for the connection to read.
        var write = connection.Stream.WriteAsync(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }).AsTask();
        Assert.False(read.IsCompleted);
        Assert.False(write.IsCompleted);

        await connection.Stream.DisposeAsync();

        Assert.Equal(0, await read.WaitAsync(Timeout));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => write.WaitAsync(Timeout));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => connection.Stream.WriteAsync(new byte[] { 11 }).AsTask().WaitAsync(Timeout));
        Assert.Equal(0, await connection.Stream.ReadAsync(new byte[16]).AsTask().WaitAsync(Timeout));

        // The bytes the write had put in the pipe still reach the connection.
        var sent = await connection.FromStream.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, sent.Buffer.ToArray());
    }

    [Fact]
    public async Task A_read_takes_what_fits_and_leaves_the_rest_for_the_next()
    {
        var connection = new Connection();
        await connection.ToStream.Writer.WriteAsync(new byte[] { 1, 2, 3, 4, 5, 6 }).AsTask().WaitAsync(Timeout);

        var first = new byte[4];
        Assert.Equal(4, await connection.Stream.ReadAsync(first).AsTask().WaitAsync(Timeout));
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, first);
        var second = new byte[4];
        Assert.Equal(2, await connection.Stream.ReadAsync(second).AsTask().WaitAsync(Timeout));
        Assert.Equal(new byte[] { 5, 6, 0, 0 }, second);
    }
}
