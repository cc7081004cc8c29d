using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PubSub.Bench.Clients;
using PubSub.Bench.Measurement;
using PubSub.Bench.Results;
using PubSub.Bench.Scenarios;
using Microsoft.AspNetCore.Http;
using RawReference;
using SignalRReference;

namespace PubSub.Bench.Tests;

/// <summary>
/// The generator against real servers on loopback, at a trivial load: these check that it speaks
/// both protocols correctly and counts exactly (every publication reaches every subscriber, loss
/// is seen when it happens). They time nothing: benchmarks are bench/run.sh's business.
/// </summary>
public sealed class ScenarioTests : IDisposable
{
    private readonly HttpClient _http = BenchHttp.Create();

    public void Dispose() => _http.Dispose();

    private static Task<TestNode> StartPubSubAsync(RedisServer? redis = null) =>
        TestNode.StartAsync(
            o => o.Channel("bench/{id}", c => c.History(100, TimeSpan.FromMinutes(5)).AllowClientPublish()),
            services: redis is null ? null : b => b.AddRedisBroker(redis.Configuration));

    private async Task<RunResult> RunAsync(string target, BenchTransport transport, IEnumerable<Uri> urls, params string[] options)
    {
        var args = new List<string> { "--target", target, "--rate", "40", "--warmup", "0.2", "--duration", "1", "--drain", "15" };
        args.AddRange(urls.SelectMany(u => new[] { "--url", u.ToString() }));
        args.AddRange(options);
        var settings = BenchSettings.Parse(args);
        settings.ValidateForRun();
        var scenario = new DeliveryScenario(settings, BenchTarget.Create(target, null, settings.MessagePack, settings.Deflate), new ServerProbe([], [], _http), _http);
        return await scenario.RunAsync(settings.Rates[0], transport, CancellationToken.None).WithTimeout("the run", TimeSpan.FromSeconds(60));
    }

    private static void AssertEveryPublicationDelivered(RunResult result, int subscribersPerChannel)
    {
        Assert.True(result.Published > 0, "the publisher published nothing in the window");
        Assert.Equal(result.Published * subscribersPerChannel, result.Expected);
        Assert.Equal(result.Expected, result.Delivered);
        Assert.Equal(0, result.Lost);
        Assert.Equal(0, result.OutOfOrder);
        Assert.Equal(0, result.Disconnects);
        Assert.Equal(0, result.Errors);
        Assert.True(result.P50Ms > 0 && result.MaxMs >= result.P99Ms && result.P99Ms >= result.P50Ms, result.Summary());
        // The window is the schedule of the publications in it: on schedule, exactly published / rate.
        Assert.True(result.WindowSeconds >= result.Published / result.OfferedRate - 1e-6, result.Summary());
    }

    [Theory]
    [InlineData(BenchTransport.WebSocket)]
    [InlineData(BenchTransport.Sse)]
    [InlineData(BenchTransport.LongPolling)]
    public async Task PubSub_fan_out_reaches_every_subscriber_once_and_in_order_on_every_transport(BenchTransport transport)
    {
        await using var node = await StartPubSubAsync();

        var result = await RunAsync("pubsub", transport, [node.BaseUri], "--scenario", "fanout", "--subscribers", "5");

        AssertEveryPublicationDelivered(result, subscribersPerChannel: 5);
        Assert.Equal(1, result.Channels);
    }

    [Theory]
    [InlineData("json")]
    [InlineData("msgpack")]
    public async Task PubSub_fan_out_over_WebSocket_counts_the_bytes_on_the_wire_in_either_encoding(string encoding)
    {
        await using var node = await StartPubSubAsync();

        var result = await RunAsync("pubsub", BenchTransport.WebSocket, [node.BaseUri], "--scenario", "fanout", "--subscribers", "3", "--encoding", encoding);

        AssertEveryPublicationDelivered(result, subscribersPerChannel: 3);
        Assert.Equal(encoding == "json" ? "ws" : "ws/msgpack", result.Transport);
        // A delivery carries at least its payload; the frame and the WebSocket header add to it.
        Assert.True(result.WireBytesPerDelivery > result.PayloadBytes, result.Summary());
    }

    [Fact]
    public async Task PubSub_many_channels_spreads_publications_and_each_reaches_its_channel_only()
    {
        await using var node = await StartPubSubAsync();

        var result = await RunAsync("pubsub", BenchTransport.WebSocket, [node.BaseUri], "--scenario", "channels", "--subscribers", "6", "--channels", "3");

        AssertEveryPublicationDelivered(result, subscribersPerChannel: 2);
        Assert.Equal(3, result.Channels);
    }

    [Theory]
    [InlineData("pubsub")]
    [InlineData("signalr")]
    public async Task Publish_heavy_publishes_each_channel_from_its_own_connection_and_every_subscriber_gets_it_in_order(string target)
    {
        await using var pubsub = await StartPubSubAsync();
        await using var signalR = await StartSignalRAsync();
        var url = target == "pubsub" ? pubsub.BaseUri : signalR.Uri;

        // 3 channels, 2 subscribers each, and by default a publisher per channel: publication n goes to channel n mod 3 on publisher n mod 3.
        var result = await RunAsync(target, BenchTransport.WebSocket, [url], "--scenario", "publish-heavy", "--subscribers", "6", "--channels", "3");

        AssertEveryPublicationDelivered(result, subscribersPerChannel: 2);
        Assert.Equal(3, result.Channels);
        Assert.Equal(3, result.Publishers);
    }

    [Fact]
    public void Publishers_that_would_share_a_channel_are_refused()
    {
        var settings = BenchSettings.Parse(["--url", "http://127.0.0.1:1", "--scenario", "publish-heavy", "--subscribers", "40", "--channels", "4", "--publishers", "3"]);

        var refusal = Assert.Throws<ArgumentException>(settings.ValidateForRun);

        Assert.Contains("multiple of --publishers", refusal.Message, StringComparison.Ordinal);
        Assert.Equal(4, BenchSettings.Parse(["--scenario", "publish-heavy", "--subscribers", "40"]).PublisherCount);
        Assert.Equal(1, BenchSettings.Parse(["--scenario", "channels", "--subscribers", "40"]).PublisherCount);
    }

    [Fact]
    public async Task Loss_is_reported_when_half_the_subscribers_are_on_a_node_that_never_gets_the_publications()
    {
        // Two nodes with separate in-memory brokers: what is published on the first never reaches the second.
        await using var first = await StartPubSubAsync();
        await using var second = await StartPubSubAsync();

        var result = await RunAsync("pubsub", BenchTransport.WebSocket, [first.BaseUri, second.BaseUri], "--scenario", "crossnode", "--subscribers", "4",
            "--drain", "1");

        Assert.True(result.Published > 0);
        Assert.Equal(result.Published * 4, result.Expected);
        Assert.Equal(result.Published * 2, result.Delivered);
        Assert.Equal(result.Published * 2, result.Lost);
        Assert.False(result.Sustained);
    }

    [Fact]
    public async Task Cross_node_over_a_real_Redis_reaches_the_subscribers_of_both_nodes()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var first = await StartPubSubAsync(redis);
        await using var second = await StartPubSubAsync(redis);

        var result = await RunAsync("pubsub", BenchTransport.WebSocket, [first.BaseUri, second.BaseUri], "--scenario", "crossnode", "--subscribers", "4");

        AssertEveryPublicationDelivered(result, subscribersPerChannel: 4);
        Assert.Equal(2, result.Nodes);
    }

    [Fact]
    public async Task A_subscription_the_server_refuses_fails_the_run_with_its_error_code()
    {
        await using var node = await TestNode.StartAsync();

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(
            () => RunAsync("pubsub", BenchTransport.WebSocket, [node.BaseUri], "--scenario", "fanout", "--subscribers", "2"));

        Assert.Contains("unknown_channel", failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(BenchTransport.WebSocket)]
    [InlineData(BenchTransport.Sse)]
    [InlineData(BenchTransport.LongPolling)]
    public async Task The_SignalR_reference_is_driven_over_its_JSON_hub_protocol_on_every_transport(BenchTransport transport)
    {
        await using var reference = await StartSignalRAsync();

        var result = await RunAsync("signalr", transport, [reference.Uri], "--scenario", "fanout", "--subscribers", "4");

        AssertEveryPublicationDelivered(result, subscribersPerChannel: 4);
    }

    [Fact]
    public async Task The_raw_Kestrel_reference_gets_every_publication_to_every_subscriber_once_and_in_order()
    {
        await using var reference = await StartRawAsync();

        var result = await RunAsync("raw", BenchTransport.WebSocket, [reference.Uri], "--scenario", "fanout", "--subscribers", "4");

        AssertEveryPublicationDelivered(result, subscribersPerChannel: 4);
        Assert.Equal("raw", result.Target);
    }

    [Fact]
    public async Task The_raw_reference_with_the_upgrade_below_HTTP_gets_every_publication_to_every_subscriber_once_and_in_order()
    {
        await using var reference = await StartRawAsync(upgradeBelowHttp: true);

        var result = await RunAsync("raw", BenchTransport.WebSocket, [reference.Uri], "--scenario", "fanout", "--subscribers", "4");

        AssertEveryPublicationDelivered(result, subscribersPerChannel: 4);
        Assert.Equal(0, reference.App.Services.GetRequiredService<WebSocketPathRequests>().Count);
    }

    [Fact]
    public async Task Below_HTTP_the_upgrade_hands_every_other_request_to_the_HTTP_layer_unread()
    {
        await using var reference = await StartRawAsync(upgradeBelowHttp: true);
        var ws = new Uri(reference.Uri, "ws");

        // Not ours: another path, /ws without an upgrade, an upgrade of a WebSocket version the
        // handshake does not speak. Each must reach the app as it came, body and all.
        using var echoed = await _http.PostAsync(new Uri(reference.Uri, "echo"), new StringContent("every byte"));
        using var plain = await _http.GetAsync(ws);
        using var oldVersion = new HttpRequestMessage(HttpMethod.Get, ws);
        oldVersion.Headers.Connection.Add("Upgrade");
        oldVersion.Headers.Upgrade.ParseAdd("websocket");
        oldVersion.Headers.Add("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
        oldVersion.Headers.Add("Sec-WebSocket-Version", "8");
        using var refused = await _http.SendAsync(oldVersion);

        Assert.Equal("every byte", await echoed.Content.ReadAsStringAsync());
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, plain.StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal(2, reference.App.Services.GetRequiredService<WebSocketPathRequests>().Count);
        // And the listener still upgrades, without the HTTP layer.
        using var socket = new System.Net.WebSockets.ClientWebSocket();
        await socket.ConnectAsync(new UriBuilder(ws) { Scheme = "ws" }.Uri, CancellationToken.None).WithTimeout("the upgrade", TimeSpan.FromSeconds(10));
        Assert.Equal(System.Net.WebSockets.WebSocketState.Open, socket.State);
        Assert.Equal(2, reference.App.Services.GetRequiredService<WebSocketPathRequests>().Count);
    }

    [Fact]
    public async Task The_SignalR_reference_is_driven_over_its_MessagePack_hub_protocol()
    {
        await using var reference = await StartSignalRAsync();

        var result = await RunAsync("signalr", BenchTransport.WebSocket, [reference.Uri], "--scenario", "fanout", "--subscribers", "4", "--encoding", "msgpack");

        AssertEveryPublicationDelivered(result, subscribersPerChannel: 4);
        Assert.Equal("ws/msgpack", result.Transport);
        Assert.True(result.WireBytesPerDelivery > result.PayloadBytes, result.Summary());
    }

    [Fact]
    public async Task PubSub_fan_out_counts_exactly_on_a_presence_channel_with_reads_and_sessions_joining_and_leaving()
    {
        await using var node = await TestNode.StartAsync(
            o => o.Channel("bench/{id}", c => c.History(100, TimeSpan.FromMinutes(5)).AllowClientPublish().Presence().JoinLeave()));

        var result = await RunAsync("pubsub", BenchTransport.WebSocket, [node.BaseUri], "--scenario", "fanout", "--subscribers", "4",
            "--presence-reads", "3", "--api-key", TestNode.ApiKey, "--churn", "20");

        // The churn sends every subscriber join and leave frames between the deliveries; they are not deliveries.
        AssertEveryPublicationDelivered(result, subscribersPerChannel: 4);
        Assert.Contains("presence reads (3 each, sequential)", result.Note, StringComparison.Ordinal);
        Assert.Matches(@"\b[1-9]\d* sessions joined and left during the run", result.Note);
    }

    [Fact]
    public void Presence_options_are_refused_for_SignalR_and_reads_without_an_api_key()
    {
        var signalR = BenchSettings.Parse(["--url", "http://127.0.0.1:1", "--target", "signalr", "--churn", "5"]);
        var keyless = BenchSettings.Parse(["--url", "http://127.0.0.1:1", "--presence-reads", "5"]);

        Assert.Contains("pubsub runs only", Assert.Throws<ArgumentException>(signalR.ValidateForRun).Message, StringComparison.Ordinal);
        Assert.Contains("--api-key", Assert.Throws<ArgumentException>(keyless.ValidateForRun).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MessagePack_and_deflate_runs_are_refused_off_WebSocket()
    {
        var settings = BenchSettings.Parse(["--url", "http://127.0.0.1:1", "--transport", "sse", "--encoding", "msgpack"]);

        var refusal = Assert.Throws<ArgumentException>(settings.ValidateForRun);

        Assert.Contains("WebSocket", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Idle_connections_open_from_several_source_addresses_and_stay_open()
    {
        await using var node = await StartPubSubAsync();
        var settings = BenchSettings.Parse(["--scenario", "idle", "--target", "pubsub", "--url", node.BaseUri.ToString(),
            "--connections", "30", "--sources", "3", "--hold", "0.5"]);

        var result = await new IdleScenario(settings, BenchTarget.Create("pubsub", null), new ServerProbe([], [], _http), _http)
            .RunAsync(CancellationToken.None).WithTimeout("the idle run", TimeSpan.FromSeconds(60));

        Assert.Equal(30, result.Opened);
        Assert.Equal(0, result.Failed);
        Assert.Equal(0, result.ClosedDuringHold);
        Assert.Contains("3 source addresses", result.Note, StringComparison.Ordinal);
    }

    private static Task<ReferenceServer> StartSignalRAsync() =>
        StartReferenceAsync(s => s.AddSignalR().AddMessagePackProtocol(), app => app.MapHub<TopicHub>("/hub"));

    /// <param name="upgradeBelowHttp">As <c>--Reference:Handshake=connection</c> does (bench/RawReference).</param>
    private static Task<ReferenceServer> StartRawAsync(bool upgradeBelowHttp = false) =>
        StartReferenceAsync(s => s.AddSingleton<Broadcaster>().AddSingleton<WebSocketPathRequests>(), app =>
        {
            app.Use((context, next) =>
            {
                if (context.Request.Path == "/ws")
                {
                    context.RequestServices.GetRequiredService<WebSocketPathRequests>().Seen();
                }
                return next(context);
            });
            app.UseWebSockets();
            app.Map("/ws", (HttpContext context, Broadcaster broadcaster) => broadcaster.HandleAsync(context));
            app.MapPost("/echo", (HttpContext context) => context.Request.Body.CopyToAsync(context.Response.Body));
        }, upgradeBelowHttp);

    private static async Task<ReferenceServer> StartReferenceAsync(Action<IServiceCollection> services, Action<WebApplication> map, bool upgradeBelowHttp = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        if (upgradeBelowHttp)
        {
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(listen =>
                listen.UseWebSocketUpgradeBeforeHttp(() => kestrel.ApplicationServices.GetRequiredService<Broadcaster>())));
        }
        builder.Logging.ClearProviders();
        services(builder.Services);
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ReferenceServer(app, new Uri(address.TrimEnd('/') + "/"));
    }

    /// <summary>How many requests for <c>/ws</c> the raw reference's HTTP layer saw.</summary>
    private sealed class WebSocketPathRequests
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public void Seen() => Interlocked.Increment(ref _count);
    }

    private sealed record ReferenceServer(WebApplication App, Uri Uri) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            using (var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
            {
                await App.StopAsync(stopping.Token);
            }
            await App.DisposeAsync();
        }
    }
}
