using System.Net;
using System.Text;
using System.Text.Json;

namespace PubSub.Server.Tests.Host;

/// <summary>
/// The Host's server API under its rate limiter (Host:ApiRateLimit), as a back end that publishes
/// too fast sees it: 429 with Retry-After and a <c>rate_limited</c> body once its burst is spent,
/// the refusals counted in /metrics, and the clients' own transports untouched.
/// </summary>
public sealed class ApiRateLimitTests
{
    private const string Key = "rate-limit-key";

    [Fact]
    public async Task A_caller_past_its_burst_gets_429_with_Retry_After_and_the_refusal_is_counted()
    {
        await using var host = await HostProcess.StartAsync(new Dictionary<string, string>
        {
            ["PubSub__ApiKey"] = Key,
            // One request per thousand seconds after a burst of two: no token comes back during the test.
            ["Host__ApiRateLimit__PermitsPerSecond"] = "0.001",
            ["Host__ApiRateLimit__Burst"] = "2",
        });
        using var http = new HttpClient { BaseAddress = host.BaseUri, Timeout = Timeouts.Default };
        http.DefaultRequestHeaders.Add("X-API-Key", Key);
        await using var subscriber = await WsClient.ConnectAsync(new Uri($"ws://127.0.0.1:{host.Port}/pubsub/ws"));
        await subscriber.SubscribeAsync("chat/limited");

        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? refused = null;
        for (var n = 1; n <= 4; n++)
        {
            var response = await http.PostAsync("api/publish", new StringContent(JsonSerializer.Serialize(new { channel = "chat/limited", data = n }), Encoding.UTF8, "application/json"));
            statuses.Add(response.StatusCode);
            refused = response;
        }
        var body = JsonDocument.Parse(await refused!.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        await subscriber.PublishAsync("chat/limited", 5);
        var received = (await subscriber.MessagesAsync(3)).Select(m => m.GetProperty("data").GetInt32());
        var metrics = await http.GetStringAsync("metrics");

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
        Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), $"Retry-After: {refused.Headers.RetryAfter}");
        Assert.Equal("rate_limited", body.GetProperty("code").GetString());
        Assert.Equal("Too many API requests from this address: at most 0.001 per second.", body.GetProperty("message").GetString());
        Assert.Equal([1, 2, 5], received);
        Assert.Contains("aspnetcore_rate_limiting_requests_total", metrics, StringComparison.Ordinal);
        Assert.Contains("endpoint_limiter", metrics, StringComparison.Ordinal);
    }
}
