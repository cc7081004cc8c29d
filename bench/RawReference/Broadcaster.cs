using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace RawReference;

/// <summary>
/// The least a WebSocket broadcaster on Kestrel can do: every connection that subscribed gets
/// each publication as one message, by one <see cref="WebSocket.SendAsync(ReadOnlyMemory{byte}, WebSocketMessageType, bool, CancellationToken)"/>
/// of the bytes the publisher sent, the same array for all. No channels, history, limits or
/// heartbeats. It speaks just enough of PubSub's JSON frames (docs/protocol.md, section 2) for the
/// load generator: <c>connected</c> on open, a <c>reply</c> to <c>subscribe</c>, and a
/// <c>publish</c> is forwarded as it came, payload and all (the generator finds deliveries by
/// their payload's marker).
/// </summary>
public sealed class Broadcaster
{
    private static ReadOnlySpan<byte> PublishPrefix => """{"type":"publish","""u8;

    private readonly Lock _gate = new();
    private Connection[] _subscribers = [];
    private long _sessions;

    public async Task HandleAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        await RunAsync(socket);
    }

    /// <summary>Serves one accepted WebSocket until it closes, however it was accepted (see <see cref="ConnectionUpgrade"/>).</summary>
    public async Task RunAsync(WebSocket socket)
    {
        var connection = new Connection(socket);
        connection.Send(Encoding.UTF8.GetBytes($$"""{"type":"connected","session":"raw{{Interlocked.Increment(ref _sessions)}}"}"""));
        try
        {
            await ReceiveAsync(connection);
        }
        catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException)
        {
        }
        finally
        {
            Remove(connection);
        }
    }

    private async Task ReceiveAsync(Connection connection)
    {
        while (true)
        {
            // Wait for a message holding no buffer, as PubSub does: the idle floor of a WebSocket
            // on ASP.NET Core is then what the platform keeps per connection (bench/run.sh idle).
            var probe = await connection.Socket.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None);
            if (probe.MessageType == WebSocketMessageType.Close)
            {
                return;
            }
            var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
            try
            {
                var length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    result = await connection.Socket.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        return;
                    }
                    length += result.Count;
                }
                while (!result.EndOfMessage && length < buffer.Length);
                Handle(connection, buffer.AsSpan(0, length));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private void Handle(Connection connection, ReadOnlySpan<byte> message)
    {
        if (message.StartsWith(PublishPrefix))
        {
            Broadcast(message.ToArray());
        }
        else if (IdOfSubscribe(message) is { } id)
        {
            Add(connection);
            connection.Send(Encoding.UTF8.GetBytes($$"""{"type":"reply","id":{{id}}}"""));
        }
    }

    private void Broadcast(byte[] message)
    {
        foreach (var subscriber in Volatile.Read(ref _subscribers))
        {
            subscriber.Send(message);
        }
    }

    private static long? IdOfSubscribe(ReadOnlySpan<byte> message)
    {
        try
        {
            using var frame = JsonDocument.Parse(message.ToArray());
            return frame.RootElement.GetProperty("type").GetString() == "subscribe" ? frame.RootElement.GetProperty("id").GetInt64() : null;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
        }
    }

    private void Add(Connection connection)
    {
        lock (_gate)
        {
            _subscribers = [.. _subscribers, connection];
        }
    }

    private void Remove(Connection connection)
    {
        lock (_gate)
        {
            _subscribers = [.. _subscribers.Where(c => c != connection)];
        }
    }

    /// <summary>
    /// One socket's writes, one at a time as WebSocket requires: a send that completes at once
    /// (the usual case) costs nothing more; one that does not keeps what follows in a queue until it has.
    /// </summary>
    private sealed class Connection(WebSocket socket)
    {
        private readonly Lock _gate = new();
        private readonly Queue<byte[]> _backlog = new();
        private bool _sending;

        public WebSocket Socket => socket;

        public void Send(byte[] message)
        {
            lock (_gate)
            {
                if (_sending)
                {
                    _backlog.Enqueue(message);
                    return;
                }
                _sending = true;
            }
            ValueTask sending;
            try
            {
                sending = socket.SendAsync(message.AsMemory(), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
            }
            catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException)
            {
                socket.Abort();
                return;
            }
            if (sending.IsCompletedSuccessfully)
            {
                lock (_gate)
                {
                    if (_backlog.Count == 0)
                    {
                        _sending = false;
                        return;
                    }
                }
            }
            _ = DrainAsync(sending);
        }

        private async Task DrainAsync(ValueTask sending)
        {
            try
            {
                await sending;
                while (true)
                {
                    byte[]? next;
                    lock (_gate)
                    {
                        if (!_backlog.TryDequeue(out next))
                        {
                            _sending = false;
                            return;
                        }
                    }
                    await socket.SendAsync(next.AsMemory(), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
                }
            }
            catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
            {
                socket.Abort();
            }
        }
    }
}
