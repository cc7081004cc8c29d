using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace PubSub.Testing;

/// <summary>
/// A TCP relay on 127.0.0.1 in front of a local port, whose link the test can cut and restore: a
/// network failure between one node and Redis while the others keep theirs. It can be pointed at
/// another port meanwhile, as a balancer sends a client that comes back to another node.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private volatile int _targetPort;
    private readonly ConcurrentDictionary<Socket, bool> _sockets = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _accepting;
    private volatile bool _cut;

    private TcpProxy(int targetPort)
    {
        _targetPort = targetPort;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _accepting = AcceptLoopAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>A StackExchange.Redis configuration string that goes through this proxy.</summary>
    public string Configuration => $"127.0.0.1:{Port}";

    /// <summary>Connections the proxy relayed (not counting those it refused while cut).</summary>
    public int ConnectionsRelayed { get; private set; }

    public static TcpProxy Start(int targetPort) => new(targetPort);

    /// <summary>Drops every relayed connection at once and refuses new ones until <see cref="Restore"/>.</summary>
    public void Cut()
    {
        _cut = true;
        foreach (var socket in _sockets.Keys)
        {
            Close(socket);
        }
    }

    public void Restore() => _cut = false;

    /// <summary>Relays the connections accepted from now on to <paramref name="targetPort"/>; those relayed already stay where they are.</summary>
    public void Retarget(int targetPort) => _targetPort = targetPort;

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        Cut();
        try
        {
            await _accepting;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            var client = await _listener.AcceptSocketAsync(_stopping.Token);
            if (_cut)
            {
                Close(client);
                continue;
            }
            var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await server.ConnectAsync(IPAddress.Loopback, _targetPort, _stopping.Token);
            }
            catch (SocketException)
            {
                Close(client);
                server.Dispose();
                continue;
            }
            ConnectionsRelayed++;
            _sockets[client] = true;
            _sockets[server] = true;
            _ = PumpAsync(client, server);
            _ = PumpAsync(server, client);
        }
    }

    private async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None);
                if (read == 0)
                {
                    break;
                }
                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
        Close(from);
        Close(to);
    }

    private void Close(Socket socket)
    {
        _sockets.TryRemove(socket, out _);
        try
        {
            // Reset rather than close gracefully: the far end learns at once, as from a broken link.
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }
}
