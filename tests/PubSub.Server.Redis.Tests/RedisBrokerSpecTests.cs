namespace PubSub.Server.Redis.Tests;

/// <summary>The broker specification, run against the Redis broker on one real redis-server.</summary>
public sealed class RedisBrokerSpecTests(RedisFixture redis) : BrokerSpec, IClassFixture<RedisFixture>
{
    protected override Task<IBroker> CreateBrokerAsync() => Task.FromResult<IBroker>(TestBrokers.Create(redis.Server.Configuration));
}

/// <summary>The broker specification, run against the Redis broker sharding over two real redis-servers.</summary>
public sealed class ShardedRedisBrokerSpecTests(TwoRedisFixture redis) : BrokerSpec, IClassFixture<TwoRedisFixture>
{
    protected override Task<IBroker> CreateBrokerAsync() =>
        Task.FromResult<IBroker>(TestBrokers.Create([redis.First.Configuration, redis.Second.Configuration]));
}
