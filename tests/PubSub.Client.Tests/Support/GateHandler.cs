using System.Net.Sockets;

namespace PubSub.Client.Tests.Support;

/// <summary>
/// The client's HTTP handler with a switch: while closed, negotiate requests fail as if nothing
/// listened, so a test decides when a reconnect may succeed. Requests of the session in use (a
/// poll, a /send) still pass, so the client hears how its session ended.
/// </summary>
internal sealed class GateHandler() : DelegatingHandler(new SocketsHttpHandler())
{
    private volatile bool _open = true;

    public void Close() => _open = false;

    public void Open() => _open = true;

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        _open || request.RequestUri?.AbsolutePath.EndsWith("/negotiate", StringComparison.Ordinal) != true
            ? base.SendAsync(request, cancellationToken)
            : Task.FromException<HttpResponseMessage>(new HttpRequestException("The gate is closed.", new SocketException((int)SocketError.ConnectionRefused)));
}
