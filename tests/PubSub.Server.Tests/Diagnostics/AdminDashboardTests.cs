using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Xunit.Abstractions;

namespace PubSub.Server.Tests.Diagnostics;

/// <summary>
/// The Host's dashboard (Host:Admin) as an operator meets it: a real Host process, real WebSocket
/// and SSE clients, and the page rendered by a real headless Chromium, whose screenshot is kept
/// at artifacts/admin-dashboard.png.
/// </summary>
public sealed class AdminDashboardTests(ITestOutputHelper output)
{
    private const string Key = "dashboard-test-key";

    private static Task<HostProcess> StartAsync(string? path = null) =>
        HostProcess.StartAsync(new Dictionary<string, string>
        {
            ["PubSub__ApiKey"] = Key,
            ["Host__Admin__Enabled"] = "true",
            ["Host__Admin__Path"] = path ?? "/admin",
        });

    private static async Task<(HttpStatusCode Status, string Body)> GetAsync(HostProcess host, string path, string? key = null)
    {
        using var http = new HttpClient { BaseAddress = host.BaseUri, Timeout = Timeouts.Default };
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (key is not null)
        {
            request.Headers.Add("X-API-Key", key);
        }
        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task PublishAsync(HostProcess host, string channel, object data)
    {
        using var http = new HttpClient { BaseAddress = host.BaseUri, Timeout = Timeouts.Default };
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/publish") { Content = JsonContent.Create(new { channel, data }) };
        request.Headers.Add("X-API-Key", Key);
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task The_dashboard_is_off_by_default()
    {
        await using var host = await HostProcess.StartAsync(new Dictionary<string, string> { ["PubSub__ApiKey"] = Key });

        var (page, _) = await GetAsync(host, "admin");
        var (stats, _) = await GetAsync(host, "admin/api/stats", Key);
        var (script, _) = await GetAsync(host, "admin/dashboard.js");

        Assert.Equal(HttpStatusCode.NotFound, page);
        Assert.Equal(HttpStatusCode.NotFound, stats);
        Assert.Equal(HttpStatusCode.NotFound, script);
    }

    [Fact]
    public async Task The_stats_want_the_key_and_count_the_real_clients_by_transport_and_channel()
    {
        await using var host = await StartAsync();
        await using var ws = await WsClient.ConnectAsync(new Uri($"ws://127.0.0.1:{host.Port}/pubsub/ws"));
        await ws.SubscribeAsync("chat/ops");
        await using var sse = await SseClient.ConnectAsync(host.BaseUri, "?channel=chat/ops&channel=news/ops");
        await sse.NextOfTypeAsync("subscribed");
        await sse.NextOfTypeAsync("subscribed");

        var (missing, missingBody) = await GetAsync(host, "admin/api/stats");
        var (wrong, _) = await GetAsync(host, "admin/api/stats", "wrong-key");
        await PublishAsync(host, "chat/ops", new { n = 1 });
        await ws.NextOfTypeAsync("message", "join", "leave");
        await sse.NextOfTypeAsync("message", "join", "leave");
        var (ok, body) = await GetAsync(host, "admin/api/stats", Key);

        Assert.Equal(HttpStatusCode.Unauthorized, missing);
        Assert.Contains("unauthorized", missingBody, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong);
        Assert.Equal(HttpStatusCode.OK, ok);
        var stats = JsonDocument.Parse(body).RootElement;
        Assert.Equal(ws.Connected.GetProperty("node").GetString(), stats.GetProperty("node").GetProperty("id").GetString());
        Assert.Equal(1, stats.GetProperty("sessions").GetProperty("byTransport").GetProperty("websocket").GetInt32());
        Assert.Equal(1, stats.GetProperty("sessions").GetProperty("byTransport").GetProperty("sse").GetInt32());
        Assert.Equal(
            [("chat/ops", 2), ("news/ops", 1)],
            stats.GetProperty("channels").GetProperty("top").EnumerateArray().Select(c => (c.GetProperty("name").GetString(), c.GetProperty("subscribers").GetInt32())));
        Assert.Equal(1, stats.GetProperty("totals").GetProperty("publications").GetInt64());
    }

    [Fact]
    public async Task The_page_is_served_at_its_configured_path_with_a_policy_that_allows_only_its_own_scripts()
    {
        await using var host = await StartAsync(path: "/ops/dashboard/");
        using var http = new HttpClient { BaseAddress = host.BaseUri, Timeout = Timeouts.Default };

        using var page = await http.GetAsync("ops/dashboard");
        var html = await page.Content.ReadAsStringAsync();
        var (script, scriptBody) = await GetAsync(host, "ops/dashboard/dashboard.js");
        var (style, _) = await GetAsync(host, "ops/dashboard/dashboard.css");
        var (stats, _) = await GetAsync(host, "ops/dashboard/api/stats", Key);
        var (elsewhere, _) = await GetAsync(host, "admin");

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("""<base href="/ops/dashboard/">""", html, StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        // Nothing from elsewhere (no CDN): the page works offline.
        Assert.DoesNotContain("://", html, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, script);
        Assert.Contains("api/stats", scriptBody, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, style);
        Assert.Equal(HttpStatusCode.OK, stats);
        Assert.Equal(HttpStatusCode.NotFound, elsewhere);
    }

    [Fact]
    public async Task In_a_browser_the_page_shows_the_node_its_connections_by_transport_its_channels_and_live_rates()
    {
        await using var host = await StartAsync();
        await using var ws = await WsClient.ConnectAsync(new Uri($"ws://127.0.0.1:{host.Port}/pubsub/ws"));
        await ws.SubscribeAsync("chat/lobby");
        await ws.SubscribeAsync("news/releases");
        await using var ws2 = await WsClient.ConnectAsync(new Uri($"ws://127.0.0.1:{host.Port}/pubsub/ws"));
        await ws2.SubscribeAsync("chat/lobby");
        await using var sse = await SseClient.ConnectAsync(host.BaseUri, "?channel=chat/lobby");
        await sse.NextOfTypeAsync("subscribed");
        var nodeId = ws.Connected.GetProperty("node").GetString()!;
        await using var browser = await HeadlessChromium.StartAsync(width: 1100, height: 760);

        // The key in the fragment, as an operator's bookmark would carry it; the page moves it to sessionStorage.
        await browser.NavigateAsync($"{host.BaseUri}admin#key={Key}");
        await browser.UntilAsync($"document.getElementById('node-id').textContent === {JsonSerializer.Serialize(nodeId)}", "the page shows the node");
        await browser.UntilAsync(
            "document.querySelector('tr[data-transport=websocket] .count').textContent === '2' && " +
            "document.querySelector('tr[data-transport=sse] .count').textContent === '1' && " +
            "document.getElementById('sessions-total').textContent === '3'",
            "the page shows two WebSocket and one SSE connection");
        await browser.UntilAsync(
            "(() => { const row = document.querySelector('tr[data-channel=\"chat/lobby\"]'); return row && row.querySelector('.subscribers').textContent === '3'; })()",
            "the page lists chat/lobby with its three subscribers");

        // Publications while the page polls: its chart gets a rate above zero.
        var published = 0;
        await Timeouts.Until(async () =>
        {
            // A varying rate, so the screenshot's charts show a shape.
            for (var i = 0; i <= published % 4; i++)
            {
                await PublishAsync(host, "chat/lobby", new { n = published });
            }
            published++;
            return (await browser.EvaluateAsync("document.querySelectorAll('#deliveries polyline')[0].getAttribute('points').split(' ').length >= 6 && parseFloat(document.querySelector('#deliveries .peak').textContent) > 0")).GetBoolean();
        }, "the delivery chart draws a rate above zero", every: TimeSpan.FromMilliseconds(200));

        Assert.Equal("true", (await browser.EvaluateAsync("document.getElementById('readiness').dataset.ready")).GetString());
        Assert.NotEqual("0", (await browser.EvaluateAsync("document.querySelector('#publications .total').textContent")).GetString());
        Assert.Equal("", (await browser.EvaluateAsync("location.hash")).GetString());
        Assert.Equal(Key, (await browser.EvaluateAsync("sessionStorage.getItem('pubsub-admin-key')")).GetString());
        Assert.Equal(nodeId, (await browser.EvaluateAsync("document.getElementById('nodes').textContent")).GetString());
        Assert.False((await browser.EvaluateAsync("document.getElementById('nodes-note').checkVisibility()")).GetBoolean(), "every node answered, so no note");
        Assert.False((await browser.EvaluateAsync("document.getElementById('key-form').checkVisibility()")).GetBoolean(), "the key form is gone");

        var screenshot = Path.Combine(Repository.Root, "artifacts", "admin-dashboard.png");
        await browser.ScreenshotAsync(screenshot);
        output.WriteLine($"Screenshot: {screenshot}");
        Assert.True(new FileInfo(screenshot).Length > 10_000, "the screenshot has content");
    }

    [Fact]
    public async Task In_a_browser_a_wrong_key_is_refused_and_the_page_asks_again_while_the_node_serves_on()
    {
        await using var host = await StartAsync();
        await using var ws = await WsClient.ConnectAsync(new Uri($"ws://127.0.0.1:{host.Port}/pubsub/ws"));
        await ws.SubscribeAsync("chat/lobby");
        await using var browser = await HeadlessChromium.StartAsync();

        await browser.NavigateAsync($"{host.BaseUri}admin#key=not-the-key");
        await browser.UntilAsync("document.getElementById('key-form').checkVisibility() && document.getElementById('key-error').textContent === 'That key was refused.'", "the page refuses the key");
        Assert.Equal(JsonValueKind.Null, (await browser.EvaluateAsync("sessionStorage.getItem('pubsub-admin-key')")).ValueKind);
        Assert.False((await browser.EvaluateAsync("document.getElementById('stats').checkVisibility()")).GetBoolean(), "nothing of the node is shown");

        await browser.EvaluateAsync($"document.getElementById('key').value = {JsonSerializer.Serialize(Key)}; document.querySelector('#key-form button').click()");
        await browser.UntilAsync("document.querySelector('tr[data-transport=websocket] .count').textContent === '1'", "the page shows the node once given the key");
        Assert.False((await browser.EvaluateAsync("document.getElementById('key-form').checkVisibility()")).GetBoolean(), "the key form is gone");

        await PublishAsync(host, "chat/lobby", new { n = 1 });
        Assert.Equal(1, (await ws.NextOfTypeAsync("message", "join", "leave")).GetProperty("data").GetProperty("n").GetInt32());
    }
}
