using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace PubSub.Cluster.Tests;

/// <summary>
/// What a publisher is told when Redis fails, on every path (a client's frame, the HTTP API, the
/// in-process publisher): <c>timeout</c> when Redis may still carry the publish out (it stalled:
/// SIGSTOP), <c>unavailable</c> when it surely did not (the connection is down). A publisher that
/// retries on <c>unavailable</c> must never publish twice.
/// </summary>
public sealed class PublishOutcomeTests : IAsyncLifetime
{
    private const string Channel = "chat/outcome";

    private RedisServer _redis = null!;
    private TestNode _node = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync(persistent: true);
        _node = await TestNode.StartAsync(services: b => b.AddRedisBroker(o =>
        {
            o.Configuration = _redis.Configuration;
            o.OperationTimeout = TimeSpan.FromSeconds(1);
            o.ReconnectInterval = TimeSpan.FromMilliseconds(100);
        }));
    }

    public async Task DisposeAsync()
    {
        await _node.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task Publishes_to_a_stalled_redis_answer_timeout_and_are_stored_once_it_resumes()
    {
        await using var client = await _node.ConnectAsync();
        await _node.Publisher.PublishAsync(Channel, new { path = "before" });

        _redis.Pause();
        var frame = await client.RequestAsync(new() { ["type"] = "publish", ["channel"] = Channel, ["data"] = new { path = "frame" } });
        var (status, api) = await PublishViaApiAsync(new { path = "api" });
        var inProcess = await Assert.ThrowsAsync<PubSubException>(() => _node.Publisher.PublishAsync(Channel, new { path = "in-process" }).AsTask());
        _redis.Resume();

        Assert.Equal(PubSubErrorCodes.Timeout, frame.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.GatewayTimeout, status);
        Assert.Equal(PubSubErrorCodes.Timeout, api.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(PubSubErrorCodes.Timeout, inProcess.Code);
        // "Outcome unknown" was the truth: Redis carried out what it had received.
        Assert.Equal(["before", "frame", "api", "in-process"], await PathsInHistoryAsync());
    }

    [Fact]
    public async Task Publishes_while_redis_is_down_answer_unavailable_and_are_never_stored()
    {
        await using var client = await _node.ConnectAsync();
        await _node.Publisher.PublishAsync(Channel, new { path = "before" });

        await _redis.KillAsync();
        // A publish written in the instant before the node notices the closed connection could be
        // reported as 'timeout'; from then on nothing can leave the node.
        await Timeouts.Until(async () => await TryPublishCodeAsync() == PubSubErrorCodes.Unavailable, "the node to see that Redis is down");
        var frame = await client.RequestAsync(new() { ["type"] = "publish", ["channel"] = Channel, ["data"] = new { path = "frame" } });
        var (status, api) = await PublishViaApiAsync(new { path = "api" });
        var inProcess = await Assert.ThrowsAsync<PubSubException>(() => _node.Publisher.PublishAsync(Channel, new { path = "in-process" }).AsTask());
        await _redis.StartAgainAsync();

        Assert.Equal(PubSubErrorCodes.Unavailable, frame.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal(PubSubErrorCodes.Unavailable, api.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(PubSubErrorCodes.Unavailable, inProcess.Code);
        // Safe to retry: Redis kept every acknowledged publication (append-only file) and none of these.
        await Timeouts.Until(async () => await TryPublishCodeAsync() is null, "the node to reach Redis again");
        Assert.Equal(["before"], (await PathsInHistoryAsync()).Where(path => path != "probe"));
    }

    private async Task<string?> TryPublishCodeAsync()
    {
        try
        {
            await _node.Publisher.PublishAsync(Channel, new { path = "probe" });
            return null;
        }
        catch (PubSubException e)
        {
            return e.Code;
        }
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> PublishViaApiAsync(object data)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/publish") { Content = JsonContent.Create(new { channel = Channel, data }) };
        request.Headers.Add("X-API-Key", TestNode.ApiKey);
        using var response = await _node.Http.SendAsync(request).WithTimeout("the API's answer");
        return (response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>());
    }

    private async Task<List<string>> PathsInHistoryAsync()
    {
        var page = await _node.Publisher.GetHistoryAsync(Channel, limit: 100).AsTask().WithTimeout("the history");
        return [.. page.Publications.Select(p => p.Data.ToJsonElement().GetProperty("path").GetString()!)];
    }
}
