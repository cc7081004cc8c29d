using System.ComponentModel;
using System.Diagnostics;

namespace PubSub.Testing;

/// <summary>Runs redis-cli to its end (its cluster commands do what no single Redis command does).</summary>
internal static class RedisCli
{
    /// <summary>Returns what redis-cli printed; throws with that output when it fails, and kills it when it takes too long.</summary>
    public static async Task<string> RunAsync(IReadOnlyList<string> arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo("redis-cli")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException("redis-cli is not installed (Debian package redis-tools).", e);
        }
        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            var command = "redis-cli " + string.Join(' ', arguments);
            try
            {
                await process.WaitForExitAsync().WithTimeout(command, timeout);
            }
            catch (TimeoutException)
            {
                process.Kill();
                throw;
            }
            var printed = await output + await error;
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"{command} exited with {process.ExitCode}:\n{printed}");
            }
            return printed;
        }
    }
}
