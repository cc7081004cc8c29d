using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PubSub.Redis;

namespace PubSub.Server.Redis.Tests;

/// <summary>How the Redis broker is set up: the AddRedisBroker overloads, configuration keys, and start-up validation.</summary>
public sealed class RedisBrokerOptionsTests
{
    private static ServiceProvider Build(Action<IPubSubBuilder> addBroker)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        addBroker(services.AddPubSub());
        return services.BuildServiceProvider();
    }

    private static IConfiguration Configuration(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    [Fact]
    public async Task A_connection_string_replaces_the_in_memory_broker()
    {
        await using var provider = Build(b => b.AddRedisBroker("127.0.0.1:6390"));

        Assert.IsType<RedisBroker>(provider.GetRequiredService<IBroker>());
        Assert.Equal("127.0.0.1:6390", provider.GetRequiredService<IOptions<RedisBrokerOptions>>().Value.Configuration);
    }

    [Fact]
    public async Task A_configuration_section_binds_shards_prefix_and_timeouts()
    {
        var section = Configuration(
            ("PubSub:Redis:Shards:0", "127.0.0.1:7001"),
            ("PubSub:Redis:Shards:1", "127.0.0.1:7002,password=secret"),
            ("PubSub:Redis:KeyPrefix", "app1:"),
            ("PubSub:Redis:OperationTimeout", "00:00:02"),
            ("PubSub:Redis:NodeTimeout", "00:00:30"),
            ("PubSub:Redis:EmptyStreamIdleTimeout", "00:01:00")).GetSection("PubSub:Redis");

        await using var provider = Build(b => b.AddRedisBroker(section));
        var options = provider.GetRequiredService<IOptions<RedisBrokerOptions>>().Value;

        Assert.Equal(["127.0.0.1:7001", "127.0.0.1:7002,password=secret"], options.Shards);
        Assert.Equal("app1:", options.KeyPrefix);
        Assert.Equal(TimeSpan.FromSeconds(2), options.OperationTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), options.NodeTimeout);
        Assert.Equal(TimeSpan.FromMinutes(1), options.EmptyStreamIdleTimeout);
        Assert.Equal(RedisBrokerOptions.DefaultNodeHeartbeatInterval, options.NodeHeartbeatInterval);
        Assert.Equal(2, ((RedisBroker)provider.GetRequiredService<IBroker>()).Shards.Count);
    }

    [Theory]
    [InlineData(null, null, "No Redis is configured")]
    [InlineData("127.0.0.1:1", "127.0.0.1:2", "either Configuration (one Redis) or Shards")]
    [InlineData("   ,,,", null, "names no Redis endpoint")]
    [InlineData("127.0.0.1:6379,syncTimeout=soon", null, "is not a valid Redis configuration string")]
    public async Task A_bad_redis_configuration_fails_at_start_with_a_message_that_says_what_to_set(string? configuration, string? shard, string expected)
    {
        await using var provider = Build(b => b.AddRedisBroker(o =>
        {
            o.Configuration = configuration;
            if (shard is not null)
            {
                o.Shards.Add(shard);
            }
        }));

        var failure = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<RedisBrokerOptions>>().Value);

        Assert.Contains(expected, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Timeouts_must_be_positive_and_nodes_must_outlive_their_heartbeat()
    {
        await using var provider = Build(b => b.AddRedisBroker(o =>
        {
            o.Configuration = "127.0.0.1:6379";
            o.OperationTimeout = TimeSpan.Zero;
            o.EmptyStreamIdleTimeout = TimeSpan.FromSeconds(-1);
            o.NodeHeartbeatInterval = TimeSpan.FromSeconds(5);
            o.NodeTimeout = TimeSpan.FromSeconds(5);
        }));

        var failure = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<RedisBrokerOptions>>().Value);

        Assert.Contains("OperationTimeout must be positive", failure.Message, StringComparison.Ordinal);
        Assert.Contains("EmptyStreamIdleTimeout must be positive", failure.Message, StringComparison.Ordinal);
        Assert.Contains("NodeTimeout (00:00:05) must be longer than NodeHeartbeatInterval", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_password_never_appears_in_a_validation_message()
    {
        await using var provider = Build(b => b.AddRedisBroker(o => o.Shards.Add("127.0.0.1:6379,password=hunter2,syncTimeout=x")));

        var failure = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<RedisBrokerOptions>>().Value);

        Assert.DoesNotContain("hunter2", failure.Message, StringComparison.Ordinal);
        Assert.Contains("password=***", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_nodes_of_one_application_started_through_the_host_share_publications_through_redis()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var a = await TestNode.StartAsync(services: b => b.AddRedisBroker(redis.Configuration));
        await using var b = await TestNode.StartAsync(services: b => b.AddRedisBroker(redis.Configuration));
        await using var client = await b.ConnectAsync();
        await client.SubscribeAsync("news/redis");

        var published = await a.PublishViaApiAsync("news/redis", new { text = "hello" });
        var message = await client.NextOfTypeAsync("message");

        Assert.Equal(published.GetProperty("offset").GetInt64(), message.GetProperty("offset").GetInt64());
        Assert.Equal("hello", message.GetProperty("data").GetProperty("text").GetString());
    }
}
