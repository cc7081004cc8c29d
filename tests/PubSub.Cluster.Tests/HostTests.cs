using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace PubSub.Cluster.Tests;

/// <summary>
/// The runnable node as an operator starts it: from any directory, with its address from the
/// standard variables, answering only the host names it is configured for.
/// </summary>
public sealed class HostTests
{
    private static async Task<HttpResponseMessage> GetAsync(HostProcess host, string path, string? hostHeader = null)
    {
        using var http = new HttpClient { BaseAddress = host.BaseUri, Timeout = Timeouts.Default };
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (hostHeader is not null)
        {
            request.Headers.Host = hostHeader;
        }
        return await http.SendAsync(request);
    }

    [Fact]
    public async Task Started_from_another_directory_the_host_serves_its_configured_channels_and_its_demo_page()
    {
        var elsewhere = Directory.CreateTempSubdirectory("pubsub-host-cwd-");
        try
        {
            await using var host = await HostProcess.StartAsync(new Dictionary<string, string> { ["PubSub__ApiKey"] = "cwd-key" }, workingDirectory: elsewhere.FullName);
            using var http = new HttpClient { BaseAddress = host.BaseUri, Timeout = Timeouts.Default };
            using var publish = new HttpRequestMessage(HttpMethod.Post, "api/publish")
            {
                // chat/{room} is a template of the Host's appsettings.json, and of nothing else.
                Content = JsonContent.Create(new { channel = "chat/elsewhere", data = new { n = 1 } }),
            };
            publish.Headers.Add("X-API-Key", "cwd-key");

            using var published = await http.SendAsync(publish);
            var body = await published.Content.ReadAsStringAsync();
            using var page = await http.GetAsync("");
            using var bundle = await http.GetAsync("pubsub-client.js");

            Assert.True(published.IsSuccessStatusCode, $"{(int)published.StatusCode} {body}\n{host.Output}");
            Assert.Equal(1, JsonSerializer.Deserialize<JsonElement>(body).GetProperty("offset").GetInt64());
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Contains("pubsub-client.js", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.OK, bundle.StatusCode);
            Assert.Contains("PubSubClient", await bundle.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.DoesNotContain("No channel template", host.Output, StringComparison.Ordinal);
        }
        finally
        {
            elsewhere.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task The_host_listens_where_ASPNETCORE_URLS_says()
    {
        // HostProcess waits for the port it put in the variable: a Host listening elsewhere fails to start here.
        await using var host = await HostProcess.StartAsync(new Dictionary<string, string>(), urlsVariable: "ASPNETCORE_URLS");

        using var health = await GetAsync(host, "healthz");

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task The_host_refuses_a_request_for_a_foreign_host_name_and_serves_its_own()
    {
        await using var host = await HostProcess.StartAsync(new Dictionary<string, string>());
        var port = host.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

        foreach (var own in new[] { $"127.0.0.1:{port}", $"localhost:{port}", $"[::1]:{port}" })
        {
            using var response = await GetAsync(host, "pubsub/negotiate", own);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"Host: {own} got {(int)response.StatusCode}");
        }
        // A page of a DNS-rebinding attacker reaches the node under the attacker's name.
        foreach (var foreign in new[] { $"rebind.attacker.example:{port}", "rebind.attacker.example", $"127.0.0.1.attacker.example:{port}" })
        {
            using var response = await GetAsync(host, "pubsub/negotiate", foreign);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"Host: {foreign} got {(int)response.StatusCode}");
        }
        using var afterwards = await GetAsync(host, "healthz");
        Assert.Equal(HttpStatusCode.OK, afterwards.StatusCode);
    }

    [Theory]
    [InlineData("true")]
    [InlineData("false")]
    public async Task With_inline_scheduling_on_or_off_a_WebSocket_subscriber_gets_every_publication_in_order(string inline)
    {
        await using var host = await HostProcess.StartAsync(new Dictionary<string, string> { ["Host__InlineScheduling"] = inline });
        var socket = new Uri($"ws://{host.BaseUri.Authority}/pubsub/ws");
        await using var subscriber = await WsClient.ConnectAsync(socket);
        await using var publisher = await WsClient.ConnectAsync(socket);
        await subscriber.SubscribeAsync("chat/inline");

        const int count = 200;
        // Replies are not awaited one by one: the frames arrive in bursts, as a busy client's do.
        for (var i = 1; i <= count; i++)
        {
            await publisher.SendAsync(new { type = "publish", id = i, channel = "chat/inline", data = new { i } });
        }
        var messages = await subscriber.MessagesAsync(count);

        Assert.Equal(Enumerable.Range(1, count).Select(i => (long)i), messages.Select(m => m.GetProperty("offset").GetInt64()));
        Assert.Equal(Enumerable.Range(1, count), messages.Select(m => m.GetProperty("data").GetProperty("i").GetInt32()));
    }
}
