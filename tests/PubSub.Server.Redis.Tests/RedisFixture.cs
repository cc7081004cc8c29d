namespace PubSub.Server.Redis.Tests;

/// <summary>One redis-server for a test class; tests use fresh channel names and node ids, so they can share it.</summary>
public sealed class RedisFixture : IAsyncLifetime
{
    public RedisServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await RedisServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>Two independent redis-servers, for the sharded broker.</summary>
public sealed class TwoRedisFixture : IAsyncLifetime
{
    public RedisServer First { get; private set; } = null!;

    public RedisServer Second { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        First = await RedisServer.StartAsync();
        Second = await RedisServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await First.DisposeAsync();
        await Second.DisposeAsync();
    }
}

/// <summary>A real Redis Cluster (three masters with a replica each) for a test class.</summary>
public sealed class RedisClusterFixture : IAsyncLifetime
{
    public RedisCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() => Cluster = await RedisCluster.StartAsync();

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}
