using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace PubSub.Testing;

/// <summary>
/// One redis-server process on 127.0.0.1 with a temp directory of its own: a plain server, a
/// cluster node or a sentinel, as its arguments say. It can be killed, frozen and started again on
/// the same port with the same arguments. Every instance is killed when disposed, or when the test
/// process exits, so no test leaves a Redis behind.
/// </summary>
internal sealed class RedisProcess : IAsyncDisposable
{
    /// <summary>What redis-server prints once it listens and has loaded its data.</summary>
    public const string ServerReady = "Ready to accept connections";

    /// <summary>A sentinel never prints <see cref="ServerReady"/>; this follows its listening socket's set-up.</summary>
    public const string SentinelReady = "+monitor master";

    private const int Sigstop = 19;
    private const int Sigcont = 18;

    private static readonly ConcurrentDictionary<RedisProcess, bool> Running = new();

    private readonly string _readyLine;
    private readonly ConcurrentQueue<string> _log = new();
    private IReadOnlyList<string> _arguments = [];
    private Process? _process;

    static RedisProcess() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        foreach (var process in Running.Keys)
        {
            process.KillNow();
        }
    };

    /// <summary>Creates the temp directory; nothing runs until <see cref="StartOnFreePortAsync"/>.</summary>
    /// <param name="name">Part of the directory's name, to tell the processes of a failed run apart.</param>
    /// <param name="readyLine">The line of output that says the process is ready.</param>
    public RedisProcess(string name, string readyLine = ServerReady)
    {
        _readyLine = readyLine;
        Directory = System.IO.Directory.CreateTempSubdirectory($"pubsub-{name}-").FullName;
    }

    public string Directory { get; }

    public int Port { get; private set; }

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>What the process printed, for failure messages.</summary>
    public string Log => string.Join('\n', _log);

    /// <summary>
    /// Starts redis-server on a free port. A port can be taken by someone else between the moment it
    /// was free and the bind, so this tries up to 5.
    /// </summary>
    /// <param name="arguments">
    /// What to run for a port (a config file first, if any, then options); asked again for each port
    /// tried, so it can pick other free ports of its own (a cluster bus port). The port, 127.0.0.1,
    /// the directory and the log to standard output are added here.
    /// </param>
    public async Task StartOnFreePortAsync(Func<int, IReadOnlyList<string>> arguments)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            Port = FreePort.Next();
            _arguments = arguments(Port);
            if (await LaunchAsync([]))
            {
                return;
            }
        }
        throw new InvalidOperationException("redis-server did not start on any of 5 free ports:\n" + Log);
    }

    /// <summary>Starts the killed process again on the same port, with the same arguments and whatever its directory holds.</summary>
    /// <param name="moreArguments">Options for this start only, after the others (so they win).</param>
    public async Task StartAgainAsync(IReadOnlyList<string>? moreArguments = null)
    {
        if (IsRunning)
        {
            throw new InvalidOperationException($"redis-server on port {Port} is running; kill it first.");
        }
        // The port was just released; binding it again can race the kernel for a moment.
        for (var attempt = 0; attempt < 20; attempt++)
        {
            if (await LaunchAsync(moreArguments ?? []))
            {
                return;
            }
            await Task.Delay(50);
        }
        throw new InvalidOperationException($"redis-server did not start again on port {Port}:\n{Log}");
    }

    /// <summary>Kills the process (SIGKILL: no shutdown, no save), as a crash would.</summary>
    public async Task KillAsync()
    {
        if (_process is { } process)
        {
            KillNow();
            await process.WaitForExitAsync().WithTimeout($"redis-server on port {Port} to exit");
            process.Dispose();
            _process = null;
        }
    }

    /// <summary>Deletes everything in the directory (the process must not be running).</summary>
    public void DeleteFiles()
    {
        foreach (var entry in System.IO.Directory.EnumerateFileSystemEntries(Directory))
        {
            if (System.IO.Directory.Exists(entry))
            {
                System.IO.Directory.Delete(entry, recursive: true);
            }
            else
            {
                File.Delete(entry);
            }
        }
    }

    public void Pause() => Signal(Sigstop);

    public void Resume() => Signal(Sigcont);

    /// <summary>Runs one command over a fresh connection and returns its reply: a string, a long, null, or an array of those.</summary>
    /// <exception cref="InvalidOperationException">Redis answered with an error.</exception>
    public async Task<object?> ExecuteAsync(params string[] command)
    {
        await using var connection = await RespConnection.OpenAsync(Port);
        return await connection.CallAsync(command);
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        Running.TryRemove(this, out _);
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A file the server held is gone with it; the temp directory is cleaned up eventually.
        }
    }

    private async Task<bool> LaunchAsync(IReadOnlyList<string> moreArguments)
    {
        var start = new ProcessStartInfo("redis-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Directory,
        };
        foreach (var argument in _arguments.Concat(moreArguments))
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var argument in new[]
        {
            "--port", Port.ToString(CultureInfo.InvariantCulture),
            "--bind", "127.0.0.1",
            "--dir", Directory,
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
            if (e.Data.Contains(_readyLine, StringComparison.Ordinal))
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
        await process.WaitForExitAsync().WithTimeout($"redis-server on port {Port} to exit");
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

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);

    private void Signal(int signal)
    {
        var process = _process ?? throw new InvalidOperationException($"redis-server on port {Port} is not running.");
        if (SendSignal(process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"Signal {signal} to redis-server (pid {process.Id}) failed: errno {Marshal.GetLastPInvokeError()}.");
        }
    }
}
