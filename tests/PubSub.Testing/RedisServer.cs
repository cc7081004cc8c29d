using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace PubSub.Testing;

/// <summary>
/// A real redis-server on 127.0.0.1 and a free port, for the tests that need Redis. It can be
/// killed and started again on the same port, with its data (when <c>persistent</c>, through an
/// append-only file) or empty. Every instance is killed when disposed, or when the test process exits.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private static readonly ConcurrentDictionary<RedisServer, bool> Running = new();

    private readonly bool _persistent;
    private readonly string _directory;
    private readonly ConcurrentQueue<string> _log = new();
    private Process? _process;

    static RedisServer() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        foreach (var server in Running.Keys)
        {
            server.KillNow();
        }
    };

    private RedisServer(bool persistent)
    {
        _persistent = persistent;
        _directory = Path.Combine(Path.GetTempPath(), "pubsub-redis-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(_directory);
    }

    public int Port { get; private set; }

    /// <summary>The StackExchange.Redis configuration string of this server.</summary>
    public string Configuration => $"127.0.0.1:{Port}";

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>What the server printed, for failure messages.</summary>
    public string Log => string.Join('\n', _log);

    /// <summary>
    /// Starts a server. A persistent one writes every change to an append-only file before it
    /// answers, so a kill and a start again keep everything that was acknowledged.
    /// </summary>
    public static async Task<RedisServer> StartAsync(bool persistent = false)
    {
        var server = new RedisServer(persistent);
        for (var attempt = 0; attempt < 5; attempt++)
        {
            server.Port = FreePort();
            if (await server.LaunchAsync())
            {
                return server;
            }
        }
        await server.DisposeAsync();
        throw new InvalidOperationException("redis-server did not start on any of 5 free ports:\n" + server.Log);
    }

    /// <summary>Kills the server (SIGKILL: no shutdown, no save), as a crash would.</summary>
    public async Task KillAsync()
    {
        if (_process is { } process)
        {
            KillNow();
            await process.WaitForExitAsync().WithTimeout("redis-server to exit");
            process.Dispose();
            _process = null;
        }
    }

    /// <summary>
    /// Freezes the server (SIGSTOP), as a Redis that hangs would: its connections stay open, the
    /// kernel keeps accepting what clients send, and nothing is answered until <see cref="Resume"/>,
    /// which then carries out everything that arrived meanwhile.
    /// </summary>
    public void Pause() => Signal(Sigstop);

    /// <summary>Lets a paused server go on (SIGCONT).</summary>
    public void Resume() => Signal(Sigcont);

    private const int Sigstop = 19;
    private const int Sigcont = 18;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);

    private void Signal(int signal)
    {
        var process = _process ?? throw new InvalidOperationException("The server is not running.");
        if (SendSignal(process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"Signal {signal} to redis-server (pid {process.Id}) failed: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}.");
        }
    }

    /// <summary>Starts the killed server again on the same port: with its data when persistent, empty otherwise.</summary>
    public async Task StartAgainAsync()
    {
        if (IsRunning)
        {
            throw new InvalidOperationException("The server is running; kill it first.");
        }
        // The port was just released; binding it again can race the kernel for a moment.
        for (var attempt = 0; attempt < 20; attempt++)
        {
            if (await LaunchAsync())
            {
                return;
            }
            await Task.Delay(50);
        }
        throw new InvalidOperationException($"redis-server did not start again on port {Port}:\n{Log}");
    }

    /// <summary>Kills the server and starts it again with no data at all, as a restart without persistence does.</summary>
    public async Task RestartEmptyAsync()
    {
        await KillAsync();
        foreach (var entry in Directory.EnumerateFileSystemEntries(_directory))
        {
            if (Directory.Exists(entry))
            {
                Directory.Delete(entry, recursive: true);
            }
            else
            {
                File.Delete(entry);
            }
        }
        await StartAgainAsync();
    }

    /// <summary>Runs one command over a fresh connection and returns its reply: a string, a long, null, or an array of those.</summary>
    /// <exception cref="InvalidOperationException">Redis answered with an error.</exception>
    public async Task<object?> ExecuteAsync(params string[] command)
    {
        await using var connection = await RespConnection.OpenAsync(Port);
        return await connection.CallAsync(command);
    }

    /// <summary>
    /// Subscribes to pub/sub channels on a connection of its own; returns once Redis confirmed, so
    /// nothing published afterwards is missed.
    /// </summary>
    public async Task<RedisSubscription> SubscribeAsync(params string[] channels)
    {
        var connection = await RespConnection.OpenAsync(Port);
        await connection.SendAsync(["SUBSCRIBE", .. channels]);
        for (var i = 0; i < channels.Length; i++)
        {
            await connection.ReadAsync();
        }
        return new RedisSubscription(connection);
    }

    /// <summary>
    /// Starts watching for <paramref name="key"/> to expire (through keyspace notifications, which
    /// this turns on); the returned task completes when Redis expires it.
    /// </summary>
    public async Task<Task> WatchExpiryAsync(string key)
    {
        await ExecuteAsync("CONFIG", "SET", "notify-keyspace-events", "Ex");
        var subscription = await SubscribeAsync("__keyevent@0__:expired");
        return WaitAsync();

        async Task WaitAsync()
        {
            await using (subscription)
            {
                while ((await subscription.NextAsync()).Message != key)
                {
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        Running.TryRemove(this, out _);
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A file the server held is gone with it; the temp directory is cleaned up eventually.
        }
    }

    private async Task<bool> LaunchAsync()
    {
        var start = new ProcessStartInfo("redis-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _directory,
        };
        foreach (var argument in new[]
        {
            "--port", Port.ToString(CultureInfo.InvariantCulture),
            "--bind", "127.0.0.1",
            "--dir", _directory,
            "--save", "",
            "--appendonly", _persistent ? "yes" : "no",
            "--appendfsync", "always",
            "--daemonize", "no",
            "--logfile", "",
        })
        {
            start.ArgumentList.Add(argument);
        }

        var ready = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }
            _log.Enqueue(e.Data);
            if (e.Data.Contains("Ready to accept connections", StringComparison.Ordinal))
            {
                ready.TrySetResult(true);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                _log.Enqueue(e.Data);
            }
        };
        process.Exited += (_, _) => ready.TrySetResult(false);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        Running[this] = true;
        if (await ready.Task.WithTimeout($"redis-server to start on port {Port}"))
        {
            return true;
        }
        await process.WaitForExitAsync();
        process.Dispose();
        _process = null;
        return false;
    }

    private void KillNow()
    {
        try
        {
            if (_process is { HasExited: false } process)
            {
                process.Kill();
            }
        }
        catch (InvalidOperationException)
        {
            // It exited meanwhile.
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Messages of a pub/sub subscription opened by <see cref="RedisServer.SubscribeAsync"/>.</summary>
public sealed class RedisSubscription : IAsyncDisposable
{
    private readonly RespConnection _connection;

    internal RedisSubscription(RespConnection connection) => _connection = connection;

    /// <summary>The next message: its channel and its payload as UTF-8 text.</summary>
    public async Task<(string Channel, string Message)> NextAsync()
    {
        while (true)
        {
            if (await _connection.ReadAsync() is object?[] { Length: 3 } push && push[0] is "message")
            {
                return ((string)push[1]!, (string)push[2]!);
            }
        }
    }

    public ValueTask DisposeAsync() => _connection.DisposeAsync();
}

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
    /// <exception cref="InvalidOperationException">Redis answered with an error.</exception>
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
                throw new InvalidOperationException("Redis error: " + rest);
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
