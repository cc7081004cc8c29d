using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;

namespace PubSub.Testing;

/// <summary>
/// Runs a Node.js script from tests/interop (third-party clients such as the <c>eventsource</c>
/// package) and hands its JSON output lines to the test. ./test.sh installs the packages.
/// </summary>
public sealed class NodeScript : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<JsonElement> _lines = Channel.CreateUnbounded<JsonElement>();
    private readonly Task _reading;

    private NodeScript(Process process)
    {
        _process = process;
        _reading = ReadAsync();
    }

    public static string InteropDirectory => Path.Combine(Repository.Root, "tests", "interop");

    public static NodeScript Start(string script, params string[] arguments)
    {
        if (!Directory.Exists(Path.Combine(InteropDirectory, "node_modules")))
        {
            throw new InvalidOperationException($"Run 'npm ci' in {InteropDirectory} first (./test.sh does).");
        }
        var start = new ProcessStartInfo("node", [script, .. arguments])
        {
            WorkingDirectory = InteropDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        return new NodeScript(Process.Start(start) ?? throw new InvalidOperationException("node did not start."));
    }

    /// <summary>Writes a line to the script's standard input (scripts that take commands read them there).</summary>
    public async Task SendLineAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>The next JSON line the script printed.</summary>
    public async Task<JsonElement> NextAsync()
    {
        try
        {
            return await _lines.Reader.ReadAsync().AsTask().WithTimeout("the next line from the node script");
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException($"The node script ended: {await _process.StandardError.ReadToEndAsync()}");
        }
    }

    /// <summary>The next line that satisfies <paramref name="predicate"/>; the lines before it are returned too.</summary>
    public async Task<(JsonElement Match, List<JsonElement> Before)> NextWhereAsync(Func<JsonElement, bool> predicate)
    {
        var before = new List<JsonElement>();
        while (true)
        {
            var line = await NextAsync();
            if (predicate(line))
            {
                return (line, before);
            }
            before.Add(line);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.StandardInput.Close();
            using var exited = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await _process.WaitForExitAsync(exited.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        await _reading;
        _process.Dispose();
    }

    private async Task ReadAsync()
    {
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line.Length > 0)
            {
                _lines.Writer.TryWrite(JsonSerializer.Deserialize<JsonElement>(line));
            }
        }
        _lines.Writer.TryComplete();
    }
}

/// <summary>Where the repository is, found from the test's output directory.</summary>
public static class Repository
{
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "PubSub.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException($"PubSub.sln not found above {AppContext.BaseDirectory}.");
    }
}
