using System.Diagnostics;

namespace PubSub.Testing;

/// <summary>
/// A real HAProxy (Debian's /usr/sbin/haproxy) in front of test nodes, with the configuration a
/// test writes: TCP mode for a load balancer without affinity, HTTP mode for a proxy that
/// rewrites requests. It listens on 127.0.0.1 on a free port and is killed on dispose.
/// </summary>
public sealed class HaProxy : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private HaProxy(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    public Uri BaseUri => new($"http://127.0.0.1:{Port}/");

    /// <param name="frontendAndBackends">The configuration after <c>global</c> and <c>defaults</c>;
    /// <c>{port}</c> stands for the port HAProxy must listen on.</param>
    /// <param name="mode"><c>tcp</c> or <c>http</c>.</param>
    public static async Task<HaProxy> StartAsync(string frontendAndBackends, string mode = "tcp")
    {
        var port = FreePort.Next();
        var directory = Directory.CreateTempSubdirectory("pubsub-haproxy-").FullName;
        var config = Path.Combine(directory, "haproxy.cfg");
        await File.WriteAllTextAsync(config, $$"""
            global
              maxconn 4000

            defaults
              mode {{mode}}
              timeout connect 5s
              timeout client 120s
              timeout server 120s
              timeout tunnel 120s
              # Without it a check must finish within its 'inter' (100-200 ms in the tests): on a
              # loaded machine one slow answer took a healthy node out, and a client that should
              # have reached it went to the other (DrainTests, once in a ten-run series).
              timeout check 5s

            {{frontendAndBackends.Replace("{port}", port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)}}

            """);

        var start = new ProcessStartInfo("haproxy", ["-f", config, "-db"])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException("haproxy did not start; is it installed (./test.sh installs it)?");
        var proxy = new HaProxy(process, directory, port);
        try
        {
            if (!await FreePort.WaitUntilListeningAsync(port, "haproxy", () => process.HasExited))
            {
                throw new InvalidOperationException($"haproxy exited: {await process.StandardError.ReadToEndAsync()}");
            }
        }
        catch
        {
            await proxy.DisposeAsync();
            throw;
        }
        return proxy;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
