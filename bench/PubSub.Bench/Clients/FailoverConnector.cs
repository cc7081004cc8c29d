using System.Net;
using System.Net.Sockets;

namespace PubSub.Bench.Clients;

/// <summary>
/// The HTTP handler the storm's SDK clients share: each connection goes first to the node its
/// URL names and, when that node refuses (it was killed), to the others, as a client behind a
/// TCP load balancer whose health check has taken the dead node out would be routed, without
/// the balancer's extra hop on this 2-core machine. Connections are bound to the source
/// addresses in turn, so many of them do not share one address's ports.
/// </summary>
public sealed class FailoverConnector
{
    private readonly IPEndPoint[] _nodes;
    private readonly IReadOnlyList<IPAddress?> _sources;
    private long _connects;
    private long _refused;
    private long _nextSource;

    public FailoverConnector(IEnumerable<Uri> nodes, IReadOnlyList<IPAddress?> sources)
    {
        _nodes = nodes.Select(u => new IPEndPoint(IPAddress.Parse(u.Host), u.Port)).ToArray();
        _sources = sources;
        Handler = new SocketsHttpHandler
        {
            ConnectCallback = ConnectAsync,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            UseProxy = false,
        };
    }

    /// <summary>For <c>PubSubClientOptions.HttpMessageHandler</c>: shared, never disposed by a client.</summary>
    public SocketsHttpHandler Handler { get; }

    /// <summary>TCP connections made so far.</summary>
    public long Connects => Interlocked.Read(ref _connects);

    /// <summary>Connection attempts a node refused (each then tried the next node).</summary>
    public long Refused => Interlocked.Read(ref _refused);

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var first = Array.FindIndex(_nodes, n => n.Port == context.DnsEndPoint.Port);
        SocketException? refusal = null;
        for (var i = 0; i < _nodes.Length; i++)
        {
            var node = _nodes[(Math.Max(first, 0) + i) % _nodes.Length];
            var socket = WebSocketConnector.NewSocket(_sources[(int)(Interlocked.Increment(ref _nextSource) % _sources.Count)]);
            try
            {
                await socket.ConnectAsync(node, cancellationToken);
                Interlocked.Increment(ref _connects);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
            {
                socket.Dispose();
                Interlocked.Increment(ref _refused);
                refusal = e;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        throw refusal!;
    }
}
