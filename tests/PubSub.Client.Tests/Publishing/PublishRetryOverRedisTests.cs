using System.Net.Http.Json;
using System.Text.Json;
using PubSub.Client.Tests.Support;

namespace PubSub.Client.Tests.Publishing;

/// <summary>
/// A publish retried on another node: two Host processes on a real Redis, the client in front
/// of them through a relay that sends it to the other node when it comes back. The first node
/// had taken the publish (Redis was frozen, so it was on its way) when the client's connection
/// broke; the retry on the second node carries the same key, and Redis stores it once.
/// </summary>
public sealed class PublishRetryOverRedisTests : IAsyncLifetime
{
    private const string ApiKey = "retry-over-redis";

    private RedisServer _redis = null!;
    private HostProcess _a = null!;
    private HostProcess _b = null!;
    private TcpProxy _relay = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _a = await HostProcess.StartAsync(Environment());
        _b = await HostProcess.StartAsync(Environment());
        _relay = TcpProxy.Start(_a.Port);
    }

    public async Task DisposeAsync()
    {
        await _relay.DisposeAsync();
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private Dictionary<string, string> Environment() => new()
    {
        ["PubSub__ApiKey"] = ApiKey,
        ["PubSub__Redis__Configuration"] = _redis.Configuration,
        ["PubSub__Redis__ReconnectInterval"] = "00:00:00.200",
    };

    [Fact]
    public async Task A_publish_taken_by_one_node_and_retried_on_another_is_stored_once()
    {
        var channel = "chat/" + Guid.NewGuid().ToString("N")[..8];
        await using var client = ClientHarness.Create(new Uri($"http://127.0.0.1:{_relay.Port}/pubsub"), PubSubTransport.WebSocket);
        await client.ConnectAsync().WithTimeout("the client to connect to the first node");
        var events = new ClientEvents(client);

        _redis.Pause();
        var publish = client.PublishAsync(channel, new { n = 1 }, "order-1");
        // Requests are taken in order and a ping is answered at once: the first node has the
        // publish on its way to Redis once the ping is back.
        await client.PingAsync().WithTimeout("a round trip after the publish");
        _relay.Cut();
        _relay.Retarget(_b.Port);
        _relay.Restore();
        await events.NextAsync(PubSubClientState.Reconnecting);
        await events.NextAsync(PubSubClientState.Connected);
        _redis.Resume();
        var position = await publish.WithTimeout("the publish retried on the second node");

        var history = await client.GetHistoryAsync(channel).WithTimeout("the history");
        // The key holds on either node and for any publisher: the server API on the first says the same.
        var again = await PublishViaApiAsync(_a, channel, "order-1");

        Assert.Equal([1], history.Publications.Select(m => m.Data.GetProperty("n").GetInt32()));
        Assert.Equal(history.Publications[0].Position, position);
        Assert.Equal(position.Offset, again.GetProperty("offset").GetInt64());
        Assert.Equal(position.Epoch, again.GetProperty("epoch").GetString());
    }

    private static async Task<JsonElement> PublishViaApiAsync(HostProcess node, string channel, string idempotencyKey)
    {
        using var http = new HttpClient { BaseAddress = node.BaseUri, Timeout = Timeouts.Default };
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/publish") { Content = JsonContent.Create(new { channel, data = new { n = 2 }, idempotencyKey }) };
        request.Headers.Add("X-API-Key", ApiKey);
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }
}
