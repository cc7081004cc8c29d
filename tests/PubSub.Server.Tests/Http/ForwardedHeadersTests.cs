using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;

namespace PubSub.Server.Tests.Http;

/// <summary>
/// The Host behind a TLS-terminating proxy (Host:ForwardedHeaders): a real Host process, and the
/// test as the proxy, sending what one sends for a browser on https://site.example. From a trusted
/// address the origin rule sees the site's own origin; from any other the headers count for nothing.
/// </summary>
public sealed class ForwardedHeadersTests
{
    private const string Key = "proxy-test-key";
    private const string Site = "https://site.example";

    private static Task<HostProcess> StartAsync(params (string Name, string Value)[] settings)
    {
        var environment = new Dictionary<string, string>
        {
            ["PubSub__ApiKey"] = Key,
            // /debug/memory answers loopback callers only: it shows which client address the node believes.
            ["Diagnostics__Enabled"] = "true",
        };
        foreach (var (name, value) in settings)
        {
            environment[name] = value;
        }
        return HostProcess.StartAsync(environment);
    }

    /// <summary>What the proxy adds for a browser on https://site.example at 203.0.113.7.</summary>
    private static readonly (string Name, string Value)[] ProxyHeaders =
    [
        ("Origin", Site),
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Host", "site.example"),
        ("X-Forwarded-For", "203.0.113.7"),
    ];

    private static Task<WsClient> ConnectThroughProxyAsync(HostProcess host) =>
        WsClient.ConnectAsync(new Uri($"ws://127.0.0.1:{host.Port}/pubsub/ws"), configure: options =>
        {
            foreach (var (name, value) in ProxyHeaders)
            {
                options.SetRequestHeader(name, value);
            }
        });

    private static Task<(HttpStatusCode Status, string Body, SseClient? Client)> SseThroughProxyAsync(HostProcess host) =>
        SseClient.TryConnectAsync(host.BaseUri, "?channel=chat/proxied", configure: request =>
        {
            foreach (var (name, value) in ProxyHeaders)
            {
                request.Headers.Add(name, value);
            }
        });

    private static async Task<HttpStatusCode> DebugMemoryThroughProxyAsync(HostProcess host)
    {
        using var http = new HttpClient { BaseAddress = host.BaseUri, Timeout = Timeouts.Default };
        using var request = new HttpRequestMessage(HttpMethod.Get, "debug/memory");
        foreach (var (name, value) in ProxyHeaders)
        {
            request.Headers.Add(name, value);
        }
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    private static async Task PublishAsync(HostProcess host, string channel, int n)
    {
        using var http = new HttpClient { BaseAddress = host.BaseUri, Timeout = Timeouts.Default };
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/publish") { Content = JsonContent.Create(new { channel, data = new { n } }) };
        request.Headers.Add("X-API-Key", Key);
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
    }

    [Theory]
    [InlineData("Host__ForwardedHeaders__KnownProxies__0", "127.0.0.1")]
    [InlineData("Host__ForwardedHeaders__KnownNetworks__0", "127.0.0.0/8")]
    [InlineData("Host__ForwardedHeaders__KnownProxies", "10.1.2.3, 127.0.0.1")]
    public async Task From_a_trusted_proxy_the_sites_https_origin_is_its_own_and_websocket_and_sse_connect(string setting, string value)
    {
        await using var host = await StartAsync((setting, value));

        await using var ws = await ConnectThroughProxyAsync(host);
        await ws.SubscribeAsync("chat/proxied");
        var (status, body, sse) = await SseThroughProxyAsync(host);
        await using var _ = sse;
        Assert.True(sse is not null, $"SSE refused: {(int)status} {body}");
        await sse.NextOfTypeAsync("subscribed");
        await PublishAsync(host, "chat/proxied", 1);

        Assert.Equal(1, (await ws.NextOfTypeAsync("message", "join", "leave")).GetProperty("data").GetProperty("n").GetInt32());
        Assert.Equal(1, (await sse.NextOfTypeAsync("message", "join", "leave")).Frame.GetProperty("data").GetProperty("n").GetInt32());
        // The node now takes the client for 203.0.113.7, not loopback: the loopback-only endpoint is closed to it.
        Assert.Equal(HttpStatusCode.NotFound, await DebugMemoryThroughProxyAsync(host));
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("Host__ForwardedHeaders__KnownProxies__0", "10.1.2.3")]
    [InlineData("Host__ForwardedHeaders__KnownNetworks__0", "10.0.0.0/8")]
    public async Task From_an_untrusted_address_the_headers_are_ignored_the_origin_is_refused_and_other_clients_are_served_on(string? setting, string? value)
    {
        await using var host = setting is null ? await StartAsync() : await StartAsync((setting, value!));
        await using var bystander = await WsClient.ConnectAsync(new Uri($"ws://127.0.0.1:{host.Port}/pubsub/ws"));
        await bystander.SubscribeAsync("chat/proxied");

        var refused = await Assert.ThrowsAsync<WebSocketException>(() => ConnectThroughProxyAsync(host));
        var (status, body, sse) = await SseThroughProxyAsync(host);
        await using var _ = sse;
        var debug = await DebugMemoryThroughProxyAsync(host);
        await PublishAsync(host, "chat/proxied", 1);

        // The origin rule compared https://site.example with the request's own http://127.0.0.1:port.
        Assert.Contains("403", refused.Message, StringComparison.Ordinal);
        Assert.Null(sse);
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("https://site.example", body, StringComparison.Ordinal);
        // X-Forwarded-For counted for nothing: the caller is still the loopback peer it is.
        Assert.Equal(HttpStatusCode.OK, debug);
        Assert.Equal(1, (await bystander.NextOfTypeAsync("message", "join", "leave")).GetProperty("data").GetProperty("n").GetInt32());
    }

    [Theory]
    [InlineData("Host__ForwardedHeaders__KnownProxies__0", "not-an-address", "Host:ForwardedHeaders:KnownProxies:0")]
    [InlineData("Host__ForwardedHeaders__KnownNetworks__0", "10.0.0.0", "Host:ForwardedHeaders:KnownNetworks:0")]
    public async Task A_proxy_setting_that_is_not_an_address_stops_the_host_with_a_message_naming_it(string setting, string value, string named)
    {
        var failed = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync((setting, value)));

        Assert.Contains(named, failed.Message, StringComparison.Ordinal);
        Assert.Contains(value, failed.Message, StringComparison.Ordinal);
    }
}
