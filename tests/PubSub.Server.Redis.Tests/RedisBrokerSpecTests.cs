using PubSub.Redis;

namespace PubSub.Server.Redis.Tests;

/// <summary>The broker specification, run against the Redis broker on one real redis-server.</summary>
public sealed class RedisBrokerSpecTests(RedisFixture redis) : BrokerSpec, IClassFixture<RedisFixture>
{
    protected override Task<IBroker> CreateBrokerAsync() => Task.FromResult<IBroker>(TestBrokers.Create(redis.Server.Configuration));

    protected override Task<IBroker> CreateBrokerWithShortLivedEmptyStreamsAsync() =>
        Task.FromResult<IBroker>(TestBrokers.Create(redis.Server.Configuration, TestBrokers.ShortLivedEmptyStreams));

    protected override async Task<Func<Task>> WatchEmptyStreamExpiryAsync(string channel)
    {
        var expired = await redis.Server.WatchExpiryAsync("pubsub:meta:{" + channel + "}");
        return () => expired;
    }
}

/// <summary>The broker specification, run against the Redis broker sharding over two real redis-servers.</summary>
public sealed class ShardedRedisBrokerSpecTests(TwoRedisFixture redis) : BrokerSpec, IClassFixture<TwoRedisFixture>
{
    protected override Task<IBroker> CreateBrokerAsync() =>
        Task.FromResult<IBroker>(TestBrokers.Create([redis.First.Configuration, redis.Second.Configuration]));

    protected override Task<IBroker> CreateBrokerWithShortLivedEmptyStreamsAsync() =>
        Task.FromResult<IBroker>(TestBrokers.Create([redis.First.Configuration, redis.Second.Configuration], TestBrokers.ShortLivedEmptyStreams));

    protected override async Task<Func<Task>> WatchEmptyStreamExpiryAsync(string channel)
    {
        var server = ShardMap.ShardOf(channel, 2) == 0 ? redis.First : redis.Second;
        var expired = await server.WatchExpiryAsync("pubsub:meta:{" + channel + "}");
        return () => expired;
    }
}

/// <summary>The broker specification, run against the Redis broker on a real Redis Cluster.</summary>
public sealed class ClusterRedisBrokerSpecTests(RedisClusterFixture redis) : BrokerSpec, IClassFixture<RedisClusterFixture>
{
    protected override Task<IBroker> CreateBrokerAsync() => Task.FromResult<IBroker>(TestBrokers.CreateForCluster(redis.Cluster));

    protected override Task<IBroker> CreateBrokerWithShortLivedEmptyStreamsAsync() =>
        Task.FromResult<IBroker>(TestBrokers.CreateForCluster(redis.Cluster, TestBrokers.ShortLivedEmptyStreams));

    protected override async Task<Func<Task>> WatchEmptyStreamExpiryAsync(string channel)
    {
        var key = "pubsub:meta:{" + channel + "}";
        var master = await redis.Cluster.MasterForAsync(key);
        var expired = await master.Server.WatchExpiryAsync(key);
        return () => expired;
    }
}
