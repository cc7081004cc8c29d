using System.Net;
using System.Net.Sockets;

namespace PubSub.Testing;

/// <summary>Free TCP ports on loopback, for servers a test starts as separate processes.</summary>
public static class FreePort
{
    /// <summary>
    /// A port that was free a moment ago. Another process could take it before ours binds it; the
    /// window is tiny and a clash fails loudly at start-up, so tests accept it.
    /// </summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
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
