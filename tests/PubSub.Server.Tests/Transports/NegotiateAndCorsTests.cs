using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace PubSub.Server.Tests.Transports;

public sealed class NegotiateAndCorsTests
{
    [Fact]
    public async Task Negotiate_lists_what_the_node_offers()
    {
        await using var node = await TestNode.StartAsync();

        using var response = await node.Http.GetAsync("pubsub/negotiate");
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("no-store", response.Headers.CacheControl!.ToString());
        Assert.Equal(1, body.GetProperty("version").GetInt32());
        Assert.Equal(node.NodeId, body.GetProperty("node").GetString());
        Assert.Equal(["websocket", "sse", "long-polling"], body.GetProperty("transports").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(["json", "msgpack"], body.GetProperty("encodings").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(25, body.GetProperty("ping").GetInt32());
        Assert.Equal(25, body.GetProperty("pollTimeout").GetInt32());
        Assert.Equal(65536, body.GetProperty("maxMessageSize").GetInt32());
    }

    [Fact]
    public async Task A_deployment_can_turn_transports_off_and_their_endpoints_are_gone()
    {
        await using var node = await TestNode.StartAsync(o => o.Transports = PubSubTransports.ServerSentEvents | PubSubTransports.LongPolling);

        var body = await node.Http.GetFromJsonAsync<JsonElement>("pubsub/negotiate");
        using var ws = await node.Http.GetAsync("pubsub/ws");
        using var poll = await PollClient.OpenAsync(node.BaseUri);

        Assert.Equal(["sse", "long-polling"], body.GetProperty("transports").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(HttpStatusCode.NotFound, ws.StatusCode);
        await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() => node.ConnectAsync());
    }

    [Fact]
    public async Task An_allowed_origin_gets_cors_headers_and_preflights_are_answered()
    {
        await using var node = await TestNode.StartAsync(o => o.AllowedOrigins.Add("https://app.example.com"));

        using var preflight = new HttpRequestMessage(HttpMethod.Options, "pubsub/send?session=x");
        preflight.Headers.Add("Origin", "https://app.example.com");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "content-type, authorization");
        using var preflightResponse = await node.Http.SendAsync(preflight);
        using var get = new HttpRequestMessage(HttpMethod.Get, "pubsub/negotiate");
        get.Headers.Add("Origin", "https://app.example.com");
        using var getResponse = await node.Http.SendAsync(get);

        Assert.Equal(HttpStatusCode.NoContent, preflightResponse.StatusCode);
        Assert.Equal("https://app.example.com", preflightResponse.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal("true", preflightResponse.Headers.GetValues("Access-Control-Allow-Credentials").Single());
        Assert.Contains("POST", preflightResponse.Headers.GetValues("Access-Control-Allow-Methods").Single(), StringComparison.Ordinal);
        Assert.Equal("content-type, authorization", preflightResponse.Headers.GetValues("Access-Control-Allow-Headers").Single());
        Assert.Equal(HttpStatusCode.OK, getResponse.StatusCode);
        Assert.Equal("https://app.example.com", getResponse.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("Origin", getResponse.Headers.Vary);
    }

    [Theory]
    [InlineData("pubsub/poll", "GET, OPTIONS", false)]
    [InlineData("pubsub/poll", "GET, OPTIONS", true)]
    [InlineData("pubsub/sse?channel=chat/a", "GET, OPTIONS", false)]
    [InlineData("pubsub/sse", "GET, OPTIONS", true)]
    [InlineData("pubsub/send?session=x", "POST, OPTIONS", false)]
    [InlineData("pubsub/ws", "GET, CONNECT, OPTIONS", false)]
    [InlineData("pubsub/negotiate", "GET, OPTIONS", true)]
    public async Task An_options_request_that_is_no_preflight_gets_the_endpoints_methods_and_opens_no_session(string path, string methods, bool sameOrigin)
    {
        await using var node = await TestNode.StartAsync(o => o.AllowedOrigins.Add("https://app.example.com"));

        using var request = new HttpRequestMessage(HttpMethod.Options, path);
        if (sameOrigin)
        {
            request.Headers.Add("Origin", node.BaseUri.GetLeftPart(UriPartial.Authority));
        }
        using var response = await node.Http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        using var poll = await PollClient.OpenAsync(node.BaseUri);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(methods, string.Join(", ", response.Content.Headers.Allow));
        Assert.Empty(body);
        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
        // Only the poll session opened after it: the OPTIONS request opened none.
        Assert.Equal(1, node.SessionCount);
    }

    [Theory]
    [InlineData("OPTIONS", "pubsub/send?session=x")]
    [InlineData("GET", "pubsub/negotiate")]
    [InlineData("GET", "pubsub/poll")]
    [InlineData("GET", "pubsub/sse")]
    [InlineData("POST", "pubsub/send?session=x")]
    public async Task A_foreign_origin_is_refused_on_every_endpoint(string method, string path)
    {
        await using var node = await TestNode.StartAsync(o => o.AllowedOrigins.Add("https://app.example.com"));

        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        request.Headers.Add("Origin", "https://evil.example.net");
        using var response = await node.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
        Assert.Contains("forbidden", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0, node.SessionCount);
    }

    [Fact]
    public async Task A_wildcard_allows_any_origin_without_credentials_and_requests_without_an_origin_are_served()
    {
        await using var node = await TestNode.StartAsync(o => o.AllowedOrigins.Add("*"));

        using var request = new HttpRequestMessage(HttpMethod.Get, "pubsub/negotiate");
        request.Headers.Add("Origin", "https://anywhere.example.org");
        using var response = await node.Http.SendAsync(request);
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "pubsub/send?session=x");
        preflight.Headers.Add("Origin", "https://anywhere.example.org");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        using var preflightResponse = await node.Http.SendAsync(preflight);
        using var noOrigin = await node.Http.GetAsync("pubsub/negotiate");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("*", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.False(response.Headers.Contains("Access-Control-Allow-Credentials"));
        Assert.Equal(HttpStatusCode.NoContent, preflightResponse.StatusCode);
        Assert.Equal("*", preflightResponse.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.False(preflightResponse.Headers.Contains("Access-Control-Allow-Credentials"));
        Assert.Equal(HttpStatusCode.OK, noOrigin.StatusCode);
        Assert.False(noOrigin.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task Beside_a_wildcard_a_listed_origin_keeps_its_credentials()
    {
        await using var node = await TestNode.StartAsync(o =>
        {
            o.AllowedOrigins.Add("*");
            o.AllowedOrigins.Add("https://app.example.com");
        });

        using var listed = new HttpRequestMessage(HttpMethod.Get, "pubsub/negotiate");
        listed.Headers.Add("Origin", "https://app.example.com");
        using var listedResponse = await node.Http.SendAsync(listed);
        using var other = new HttpRequestMessage(HttpMethod.Get, "pubsub/negotiate");
        other.Headers.Add("Origin", "https://anywhere.example.org");
        using var otherResponse = await node.Http.SendAsync(other);

        Assert.Equal("https://app.example.com", listedResponse.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal("true", listedResponse.Headers.GetValues("Access-Control-Allow-Credentials").Single());
        Assert.Equal("*", otherResponse.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.False(otherResponse.Headers.Contains("Access-Control-Allow-Credentials"));
    }
}
