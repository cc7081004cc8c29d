using System.Net.Sockets;

namespace PubSub.Client.Tests.Support;

/// <summary>
/// The client's HTTP handler (WebSocket handshakes included) with a switch: while closed, every
/// new request fails as if nothing listened, so a test decides when a reconnect may succeed.
/// </summary>
internal sealed class GateHandler() : DelegatingHandler(new SocketsHttpHandler())
{
    private volatile bool _open = true;

    public void Close() => _open = false;

    public void Open() => _open = true;

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        _open
            ? base.SendAsync(request, cancellationToken)
            : Task.FromException<HttpResponseMessage>(new HttpRequestException("The gate is closed.", new SocketException((int)SocketError.ConnectionRefused)));
}
