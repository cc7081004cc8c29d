using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace PubSub.Testing;

/// <summary>
/// A real PubSub node: Kestrel on 127.0.0.1 with a free port, the application's services, and the
/// endpoints at /pubsub and /api. Tests talk to it over real sockets.
/// </summary>
public sealed class TestNode : IAsyncDisposable
{
    public const string ApiKey = "test-api-key";

    private readonly WebApplication _app;

    private TestNode(WebApplication app, Uri baseUri)
    {
        _app = app;
        BaseUri = baseUri;
        Http = new HttpClient { BaseAddress = baseUri, Timeout = Timeouts.Default };
    }

    /// <summary>http://127.0.0.1:{port}/</summary>
    public Uri BaseUri { get; }

    public Uri WebSocketUri => new($"ws://{BaseUri.Authority}/pubsub/ws");

    /// <summary>An HTTP client for this node (no API key unless a test adds it).</summary>
    public HttpClient Http { get; }

    public IServiceProvider Services => _app.Services;

    internal PubSub.Sessions.SessionRegistry Sessions => Services.GetRequiredService<PubSub.Sessions.SessionRegistry>();

    public string NodeId => Services.GetRequiredService<PubSub.Node.NodeIdentity>().Id;

    public int SessionCount => Sessions.Count;

    /// <summary>What a stopping node does first: tells every client to go (4000, reconnect allowed).</summary>
    public void CloseAllSessions() => Sessions.CloseAll(PubSub.Protocol.DisconnectReason.Shutdown);

    /// <summary>Whether this node still holds the session.</summary>
    public bool HasSession(string sessionId) => Sessions.Find(sessionId) is not null;

    /// <summary>Whether this node is holding a poll of the long-polling session right now.</summary>
    public bool IsPollHeld(string sessionId) =>
        Services.GetRequiredService<PubSub.Transports.LongPollingTransport>().Find(sessionId) is { } poll && poll.ActivePoll is not null;

    /// <summary>Ends a session from the server side (code 4003, reconnect allowed), as an application kick or an expiry would.</summary>
    public void CloseSession(string sessionId) => Sessions.Find(sessionId)?.Close(PubSub.Protocol.DisconnectReason.SessionClosed);

    /// <summary>Ends a session from the server side with any disconnect code (4500: the application disconnects the client for good).</summary>
    public void CloseSession(string sessionId, int code, string reason) =>
        Sessions.Find(sessionId)?.Close(new PubSub.Protocol.DisconnectReason(code, reason));

    /// <summary>Drops a session without a word to its client, as a node that died would: its next poll or send gets 404.</summary>
    public void AbandonSession(string sessionId) => Sessions.Find(sessionId)?.Abandon();

    /// <summary>Whether the session's transport is waiting for its client to take a write (the client is not reading).</summary>
    public bool IsWaitingOnClient(string sessionId) => Sessions.Find(sessionId) is { } session && session.Outbound.WaitingOnClientSince != 0;

    /// <summary>Bytes the session holds for its client: waiting, and on their way but not taken yet.</summary>
    public long HeldBytes(string sessionId) => Sessions.Find(sessionId)?.Outbound.HeldBytes ?? 0;

    /// <summary>Whether the WebSocket session has a ping outstanding that something from the client has answered since.</summary>
    public bool PingAnswered(string sessionId) =>
        Sessions.Find(sessionId) is { } session && session.Heartbeat.PingAnswered;

    /// <summary>How many WebSocket sessions left the HTTP layer after their handshake (the connection middleware <c>UsePubSubHandoff</c>).</summary>
    public long HandedOverSessions => Services.GetRequiredService<PubSub.Transports.WebSocketTransport>().HandedOver;

    public IPubSubPublisher Publisher => Services.GetRequiredService<IPubSubPublisher>();

    /// <summary>Collects what this node (and no other) records in one of its PubSub instruments, from now on.</summary>
    public Microsoft.Extensions.Diagnostics.Metrics.Testing.MetricCollector<T> CollectMetric<T>(string instrument) where T : struct =>
        new(Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), PubSubTelemetry.MeterName, instrument);

    /// <summary>How long a node forwarding a request waits without a word from the session's owner before it answers by itself.</summary>
    public static TimeSpan ForwardingSilenceTimeout => PubSub.Cluster.SessionForwarder.SilenceTimeout;

    /// <summary>
    /// Starts a node. By default it has channel templates <c>chat/{room}</c> (history 100, client
    /// publish), <c>news/{topic}</c> (history 100, server publish only) and <c>nohistory/{x}</c>,
    /// and the API key <see cref="ApiKey"/>. <paramref name="configure"/> runs after the defaults.
    /// <paramref name="port"/> 0 (the default) takes a free port.
    /// </summary>
    public static async Task<TestNode> StartAsync(
        Action<PubSubOptions>? configure = null,
        Action<IPubSubBuilder>? services = null,
        Action<WebApplication>? map = null,
        Action<WebApplicationBuilder>? host = null,
        int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        // A given port lets a test restart a node where its clients expect it.
        builder.WebHost.UseUrls($"http://127.0.0.1:{port.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        builder.Logging.ClearProviders();
        builder.Logging.AddFilter(level => level >= LogLevel.Warning);
        // As the Host runs: WebSocket sessions leave the HTTP layer after their handshake.
        builder.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(l => l.UsePubSubHandoff()));
        host?.Invoke(builder);
        var pubsub = builder.Services.AddPubSub(options =>
        {
            options.ApiKey = ApiKey;
            options.Channel("chat/{room}", c => c.History(100, TimeSpan.FromMinutes(5)).AllowClientPublish());
            options.Channel("news/{topic}", c => c.History(100, TimeSpan.FromMinutes(5)));
            options.Channel("nohistory/{x}", c => c.AllowClientPublish());
            configure?.Invoke(options);
        });
        services?.Invoke(pubsub);

        var app = builder.Build();
        if (map is not null)
        {
            map(app);
        }
        else
        {
            app.MapPubSub("/pubsub");
            app.MapPubSubApi("/api");
        }
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new TestNode(app, new Uri(address.TrimEnd('/') + "/"));
    }

    /// <summary>
    /// For <c>host:</c>: the node's sockets get a small, fixed send buffer (16 KB; Linux otherwise
    /// grows one to 4 MB on loopback), so the writes to a client that stops reading back up after
    /// kilobytes, as they would on a real network, not megabytes.
    /// </summary>
    public static void SmallSendBuffers(WebApplicationBuilder builder) =>
        builder.WebHost.UseSockets(o => o.CreateBoundListenSocket = endpoint =>
        {
            // Accepted sockets inherit the listener's buffer sizes.
            var socket = Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets.SocketTransportOptions.CreateDefaultBoundListenSocket(endpoint);
            socket.SendBufferSize = 16 * 1024;
            return socket;
        });

    /// <summary>Opens a protocol client on this node's WebSocket endpoint and waits for <c>connected</c>.</summary>
    public Task<WsClient> ConnectAsync(bool answerPings = true) => WsClient.ConnectAsync(WebSocketUri, answerPings: answerPings);

    /// <summary>
    /// Opens a protocol client as a user of the test scheme (<see cref="TestAuthenticationHandler"/>,
    /// which the node must have), with the given comma-separated roles; a null user is anonymous.
    /// </summary>
    public Task<WsClient> ConnectAsAsync(string? user, string? roles = null) =>
        WsClient.ConnectAsync(WebSocketUri, configure: options =>
        {
            if (user is not null)
            {
                options.SetRequestHeader(TestAuthenticationHandler.UserHeader, user);
            }
            if (roles is not null)
            {
                options.SetRequestHeader(TestAuthenticationHandler.RolesHeader, roles);
            }
        });

    /// <summary>Publishes through the server API with the API key; returns the parsed response.</summary>
    public async Task<JsonElement> PublishViaApiAsync(string channel, object data)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/publish") { Content = JsonContent.Create(new { channel, data }) };
        request.Headers.Add("X-API-Key", ApiKey);
        using var response = await Http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        using (var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            await _app.StopAsync(stopping.Token);
        }
        await _app.DisposeAsync();
    }
}
