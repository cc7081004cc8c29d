using System.Net;
using Microsoft.Extensions.DependencyInjection;

namespace PubSub.Cluster.Tests;

/// <summary>
/// Positions at the edge of the protocol's range on a node on Redis, whose Lua scripts compute in
/// doubles: an offset above 2^53 - 1 is refused as a bad request on every path, and the largest one
/// allowed is computed exactly (not recovered, since no channel is that far). Before, 2^63 - 1 was
/// answered as "Redis is unreachable".
/// </summary>
public sealed class OffsetRangeTests : IAsyncLifetime
{
    private const long Largest = (1L << 53) - 1;
    private const string Channel = "chat/range";

    private RedisServer _redis = null!;
    private TestNode _node = null!;
    private string _epoch = "";

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _node = await TestNode.StartAsync(services: b => b.AddRedisBroker(_redis.Configuration));
        _epoch = (await _node.Publisher.PublishAsync(Channel, new { n = 1 })).Epoch;
    }

    public async Task DisposeAsync()
    {
        await _node.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task The_largest_offset_is_computed_exactly_and_one_beyond_is_a_bad_request()
    {
        await using var client = await _node.ConnectAsync();

        var largest = await client.RequestAsync(new() { ["type"] = "subscribe", ["channel"] = Channel, ["since"] = new { epoch = _epoch, offset = Largest } });
        var beyond = await client.RequestAsync(new() { ["type"] = "history", ["channel"] = "chat/other", ["since"] = new { epoch = _epoch, offset = long.MaxValue } });
        var history = await client.RequestAsync(new() { ["type"] = "history", ["channel"] = Channel, ["since"] = new { epoch = _epoch, offset = Largest } });

        Assert.False(largest.GetProperty("result").GetProperty("recovered").GetBoolean());
        Assert.Equal(1, largest.GetProperty("result").GetProperty("offset").GetInt64());
        Assert.Equal(PubSubErrorCodes.BadRequest, beyond.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(0, history.GetProperty("result").GetProperty("publications").GetArrayLength());
    }

    [Fact]
    public async Task An_offset_beyond_the_range_is_a_bad_request_in_a_cursor_in_the_api_and_in_process()
    {
        var (cursorStatus, cursorBody, _) = await SseClient.TryConnectAsync(_node.BaseUri, lastEventId: $"{_epoch}:{long.MaxValue}:{Channel}");
        using var request = new HttpRequestMessage(HttpMethod.Get, $"api/history?channel={Channel}&epoch={_epoch}&offset={long.MaxValue}");
        request.Headers.Add("X-API-Key", TestNode.ApiKey);
        using var api = await _node.Http.SendAsync(request).WithTimeout("the API's answer");
        var inProcess = await Assert.ThrowsAsync<PubSubException>(() =>
            _node.Publisher.GetHistoryAsync(Channel, new StreamPosition(long.MaxValue, _epoch)).AsTask());

        Assert.Equal(HttpStatusCode.BadRequest, cursorStatus);
        Assert.Contains("bad_request", cursorBody, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, api.StatusCode);
        Assert.Equal(PubSubErrorCodes.BadRequest, inProcess.Code);
        // The node is unharmed.
        await using var client = await _node.ConnectAsync();
        Assert.Equal(_epoch, (await client.SubscribeAsync(Channel, _epoch, 0)).GetProperty("epoch").GetString());
    }
}
