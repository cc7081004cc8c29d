using System.Net;
using System.Net.Sockets;

namespace PubSub.Testing;

/// <summary>Free TCP ports on loopback, for servers a test starts as separate processes.</summary>
public static class FreePort
{
    /// <summary>
    /// A port that was free a moment ago, never handed out before by this process. It comes from
    /// below the kernel's ephemeral range, where no port-0 bind (every Kestrel a test starts in
    /// process) and no outgoing connection can land, so only another test process picking ports
    /// the same way could take it before ours binds it; each process starts at a random place.
    /// Ports from the ephemeral range itself were taken that way once in a while: a Host then
    /// failed to bind, and the test talked to whatever had the port.
    /// </summary>
    public static int Next()
    {
        for (var tried = 0; tried < s_range.Count; tried++)
        {
            var port = s_range.First + (int)((uint)Interlocked.Increment(ref s_cursor) % (uint)s_range.Count);
            if (IsFree(port))
            {
                return port;
            }
        }
        throw new InvalidOperationException($"No free port from {s_range.First} to {s_range.First + s_range.Count - 1}.");
    }

    private static readonly (int First, int Count) s_range = RangeBelowEphemeralPorts();

    private static int s_cursor = Random.Shared.Next(s_range.Count);

    /// <summary>From 10000 to just below the ephemeral range (Linux: /proc/sys/net/ipv4/ip_local_port_range).</summary>
    private static (int First, int Count) RangeBelowEphemeralPorts()
    {
        const int First = 10000;
        var ephemeralStart = 32768;
        try
        {
            ephemeralStart = int.Parse(File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries)[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            // Not Linux: the usual default.
        }
        return (First, Math.Max(ephemeralStart - First, 1000));
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>
    /// Waits until something accepts TCP connections on the port. Returns false when
    /// <paramref name="hasExited"/> says the server process died first; throws on timeout.
    /// </summary>
    public static async Task<bool> WaitUntilListeningAsync(int port, string what, Func<bool>? hasExited = null)
    {
        var deadline = DateTime.UtcNow + Timeouts.Default;
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return true;
            }
            catch (SocketException)
            {
                if (hasExited?.Invoke() == true)
                {
                    return false;
                }
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"{what} did not start listening on port {port} within {Timeouts.Default.TotalSeconds} s.");
                }
                await Task.Delay(20);
            }
        }
    }
}
