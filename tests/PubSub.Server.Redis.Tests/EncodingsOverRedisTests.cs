using Microsoft.Extensions.DependencyInjection;

namespace PubSub.Server.Redis.Tests;

/// <summary>
/// Every transport and encoding across two nodes on a real Redis (docs/protocol.md, section 6):
/// a publication stored once reaches JSON and MessagePack subscribers on either node alike, and a
/// client that reconnects to the other node recovers in its encoding.
/// </summary>
public sealed class EncodingsOverRedisTests(RedisFixture redis) : IClassFixture<RedisFixture>, IAsyncLifetime
{
    private TestNode _a = null!;
    private TestNode _b = null!;

    public static TheoryData<string> Kinds => EncodedPeer.AllKinds;

    public async Task InitializeAsync()
    {
        _a = await TestNode.StartAsync(services: b => b.AddRedisBroker(redis.Server.Configuration));
        _b = await TestNode.StartAsync(services: b => b.AddRedisBroker(redis.Server.Configuration));
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
    }

    private static string Channel(string name) => $"chat/redis-mp-{name.Replace('/', '-')}-{Guid.NewGuid():N}";

    [Theory]
    [MemberData(nameof(Kinds))]
    public Task Every_transport_and_encoding_recovers_on_the_other_node(string kind) =>
        EncodingScenarios.SubscribePublishHistoryAndRecoverAsync(_a, _b, kind, Channel(kind));

    [Fact]
    public Task Subscribers_of_every_encoding_on_both_nodes_receive_the_same_publications_in_the_same_order() =>
        EncodingScenarios.MixedEncodingsReceiveTheSameAsync([_a, _b], Channel("mixed"));
}
