using System.Diagnostics;

namespace PubSub.Testing;

/// <summary>
/// The runnable node (server/PubSub.Host, as built beside the tests) started as its own process
/// on 127.0.0.1 and a free port, configured only through environment variables, as an operator
/// or a container would configure it. Killed on dispose.
/// </summary>
public sealed class HostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output = [];
    private int _disposed;

    private HostProcess(Process process, int port)
    {
        _process = process;
        Port = port;
        process.OutputDataReceived += (_, e) => Record(e.Data);
        process.ErrorDataReceived += (_, e) => Record(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Port { get; }

    /// <summary>The process id, for reading what the node holds (<see cref="ProcessMemory"/>).</summary>
    public int ProcessId => _process.Id;

    public Uri BaseUri => new($"http://127.0.0.1:{Port}/");

    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output);
            }
        }
    }

    /// <summary>The Host's assembly, from the same build configuration as the running tests.</summary>
    public static string HostAssembly
    {
        get
        {
            var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
            return Path.Combine(Repository.Root, "server", "PubSub.Host", "bin", configuration, "net10.0", "PubSub.Host.dll");
        }
    }

    /// <summary>
    /// Starts the Host with <paramref name="environment"/> on top of the test defaults. By default it
    /// runs in its own directory and takes its address from the <c>Urls</c> variable (as the
    /// Dockerfile sets it); <paramref name="workingDirectory"/> starts it from elsewhere, as
    /// <c>dotnet /path/PubSub.Host.dll</c> from a shell would, and <paramref name="urlsVariable"/>
    /// names another variable for the address (<c>ASPNETCORE_URLS</c>). <paramref name="port"/> is
    /// where it listens (a node started again where a load balancer expects it); a free one by default.
    /// </summary>
    public static async Task<HostProcess> StartAsync(IReadOnlyDictionary<string, string> environment, int? port = null, string? workingDirectory = null, string urlsVariable = "Urls")
    {
        if (!File.Exists(HostAssembly))
        {
            throw new InvalidOperationException($"{HostAssembly} is missing: build the solution first.");
        }
        var listen = port ?? FreePort.Next();
        var start = new ProcessStartInfo("dotnet", [HostAssembly])
        {
            WorkingDirectory = workingDirectory ?? Path.GetDirectoryName(HostAssembly)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment[urlsVariable] = $"http://127.0.0.1:{listen}";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        var host = new HostProcess(process, listen);
        bool listening;
        try
        {
            listening = await FreePort.WaitUntilListeningAsync(listen, "PubSub.Host", () => process.HasExited);
        }
        catch (TimeoutException e)
        {
            // A Host that listens somewhere else would otherwise outlive the test, holding that port.
            var output = host.Output;
            await host.DisposeAsync();
            throw new TimeoutException($"{e.Message} It printed: {output}", e);
        }
        if (!listening)
        {
            // Exited: waiting for it also waits for the last of its output, the error that says why.
            await process.WaitForExitAsync();
            var output = host.Output;
            await host.DisposeAsync();
            throw new InvalidOperationException($"PubSub.Host exited: {output}");
        }
        return host;
    }

    /// <summary>Kills the process (SIGKILL, as a crash would); safe to call again.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    private void Record(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.Add(line);
            }
        }
    }
}
