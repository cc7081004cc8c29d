namespace PubSub.Testing;

/// <summary>
/// A real redis-server on 127.0.0.1 and a free port, for the tests that need Redis. It can be
/// killed and started again on the same port, with its data (when <c>persistent</c>, through an
/// append-only file) or empty. Every instance is killed when disposed, or when the test process exits.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly RedisProcess _process;

    private RedisServer(RedisProcess process) => _process = process;

    public int Port => _process.Port;

    /// <summary>The StackExchange.Redis configuration string of this server.</summary>
    public string Configuration => $"127.0.0.1:{Port}";

    public bool IsRunning => _process.IsRunning;

    /// <summary>What the server printed, for failure messages.</summary>
    public string Log => _process.Log;

    /// <summary>
    /// Starts a server. A persistent one writes every change to an append-only file before it
    /// answers, so a kill and a start again keep everything that was acknowledged.
    /// </summary>
    public static Task<RedisServer> StartAsync(bool persistent = false) => StartAsync(persistent, _ => []);

    /// <summary>Starts a server with more options (a cluster node's, a replica's), asked for each port tried.</summary>
    internal static async Task<RedisServer> StartAsync(bool persistent, Func<int, IReadOnlyList<string>> options, string name = "redis")
    {
        var server = new RedisServer(new RedisProcess(name));
        try
        {
            await server._process.StartOnFreePortAsync(port =>
            [
                "--save", "",
                "--appendonly", persistent ? "yes" : "no",
                "--appendfsync", "always",
                // A master waits 5 s by default for more replicas before it sends its data to one.
                "--repl-diskless-sync-delay", "0",
                .. options(port),
            ]);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Kills the server (SIGKILL: no shutdown, no save), as a crash would.</summary>
    public Task KillAsync() => _process.KillAsync();

    /// <summary>
    /// Freezes the server (SIGSTOP), as a Redis that hangs would: its connections stay open, the
    /// kernel keeps accepting what clients send, and nothing is answered until <see cref="Resume"/>,
    /// which then carries out everything that arrived meanwhile.
    /// </summary>
    public void Pause() => _process.Pause();

    /// <summary>Lets a paused server go on (SIGCONT).</summary>
    public void Resume() => _process.Resume();

    /// <summary>Starts the killed server again on the same port: with its data when persistent, empty otherwise.</summary>
    public Task StartAgainAsync() => _process.StartAgainAsync();

    /// <summary>Starts the killed server again with more options for this start only (a replica's master).</summary>
    internal Task StartAgainAsync(IReadOnlyList<string> options) => _process.StartAgainAsync(options);

    /// <summary>Kills the server and starts it again with no data at all, as a restart without persistence does.</summary>
    public async Task RestartEmptyAsync()
    {
        await KillAsync();
        _process.DeleteFiles();
        await StartAgainAsync();
    }

    /// <summary>Runs one command over a fresh connection and returns its reply: a string, a long, null, or an array of those.</summary>
    /// <exception cref="InvalidOperationException">Redis answered with an error.</exception>
    public Task<object?> ExecuteAsync(params string[] command) => _process.ExecuteAsync(command);

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

    public ValueTask DisposeAsync() => _process.DisposeAsync();
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
