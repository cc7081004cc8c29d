using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace PubSub.Testing;

/// <summary>A minimal RESP2 connection: enough to run commands and read pub/sub messages in tests.</summary>
internal sealed class RespConnection : IAsyncDisposable
{
    private readonly TcpClient _client;
    private readonly Stream _stream;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    private RespConnection(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
    }

    public static async Task<RespConnection> OpenAsync(int port)
    {
        var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port).WithTimeout("a connection to redis-server");
        return new RespConnection(client);
    }

    public async Task<object?> CallAsync(string[] command)
    {
        await SendAsync(command);
        return await ReadAsync();
    }

    public async Task SendAsync(string[] command)
    {
        var request = new StringBuilder().Append('*').Append(command.Length).Append("\r\n");
        foreach (var part in command)
        {
            request.Append('$').Append(Encoding.UTF8.GetByteCount(part)).Append("\r\n").Append(part).Append("\r\n");
        }
        await _stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()));
    }

    /// <summary>The next reply: a string, a long, null, or an array of those.</summary>
    /// <exception cref="RedisReplyException">Redis answered with an error.</exception>
    public Task<object?> ReadAsync() => ReadValueAsync().WithTimeout("a reply from redis-server");

    private async Task<object?> ReadValueAsync()
    {
        var line = await ReadLineAsync();
        var rest = line[1..];
        switch (line[0])
        {
            case '+':
                return rest;
            case '-':
                throw new RedisReplyException("Redis error: " + rest);
            case ':':
                return long.Parse(rest, CultureInfo.InvariantCulture);
            case '$':
                var length = int.Parse(rest, CultureInfo.InvariantCulture);
                if (length < 0)
                {
                    return null;
                }
                var bytes = await ReadBytesAsync(length + 2);
                return Encoding.UTF8.GetString(bytes, 0, length);
            case '*':
                var count = int.Parse(rest, CultureInfo.InvariantCulture);
                if (count < 0)
                {
                    return null;
                }
                var items = new object?[count];
                for (var i = 0; i < count; i++)
                {
                    items[i] = await ReadValueAsync();
                }
                return items;
            default:
                throw new IOException("Unexpected reply from redis-server: " + line);
        }
    }

    private async Task<string> ReadLineAsync()
    {
        while (true)
        {
            var newline = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n"u8);
            if (newline >= 0)
            {
                var line = Encoding.UTF8.GetString(_buffer, _start, newline);
                _start += newline + 2;
                return line;
            }
            await FillAsync();
        }
    }

    private async Task<byte[]> ReadBytesAsync(int count)
    {
        var result = new byte[count];
        var copied = 0;
        while (copied < count)
        {
            if (_start == _end)
            {
                await FillAsync();
            }
            var take = Math.Min(count - copied, _end - _start);
            Array.Copy(_buffer, _start, result, copied, take);
            _start += take;
            copied += take;
        }
        return result;
    }

    private async Task FillAsync()
    {
        if (_start > 0)
        {
            Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length)
        {
            throw new IOException("A reply line is longer than the test client's buffer.");
        }
        var read = await _stream.ReadAsync(_buffer.AsMemory(_end));
        if (read == 0)
        {
            throw new IOException("redis-server closed the connection.");
        }
        _end += read;
    }

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>An error reply (MOVED, CLUSTERDOWN, LOADING...), told apart from a test's own mistakes.</summary>
internal sealed class RedisReplyException(string message) : InvalidOperationException(message);
