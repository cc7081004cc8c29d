using System.Diagnostics;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace PubSub.Server.Redis.Tests;

/// <summary>
/// The Redis Cluster and Sentinel fixtures themselves, driven by StackExchange.Redis as the broker
/// drives Redis: what a test built on them can count on. Each nested class is a test collection,
/// so the clusters and the sentinel setup start in parallel.
/// </summary>
public static class RedisClusterFixtureTests
{
    /// <summary>A failover or a slot move takes the client a moment to follow; generous, for a loaded machine.</summary>
    private static readonly TimeSpan ClientCatchUp = TimeSpan.FromSeconds(30);

    private static async Task<ConnectionMultiplexer> ConnectAsync(string configuration) =>
        await ConnectionMultiplexer.ConnectAsync(configuration).WithTimeout("StackExchange.Redis to connect");

    /// <summary>Tries a client operation until it succeeds, through the errors of a cluster or a client that is still changing.</summary>
    private static Task UntilClientAsync(Func<Task<bool>> attempt, string what) =>
        Timeouts.Until(
            async () =>
            {
                try
                {
                    return await attempt();
                }
                catch (RedisException)
                {
                    return false;
                }
            },
            what,
            ClientCatchUp,
            TimeSpan.FromMilliseconds(50));

    private static string Unique(string name) => $"{name}-{Guid.NewGuid():N}";

    /// <summary>One cluster for the tests that kill no node; they use keys of their own.</summary>
    public sealed class SharedCluster : IAsyncLifetime
    {
        public RedisCluster Cluster { get; private set; } = null!;

        public ConnectionMultiplexer Client { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Cluster = await RedisCluster.StartAsync();
            Client = await ConnectAsync(Cluster.Configuration);
        }

        public async Task DisposeAsync()
        {
            await Client.DisposeAsync();
            await Cluster.DisposeAsync();
        }
    }

    public sealed class Cluster(SharedCluster fixture, ITestOutputHelper output) : IClassFixture<SharedCluster>
    {
        private readonly RedisCluster _cluster = fixture.Cluster;
        private readonly IDatabase _database = fixture.Client.GetDatabase();

        [Fact]
        public async Task Keys_of_every_master_are_set_and_read_through_the_client_and_live_where_MasterFor_says()
        {
            var keysByMaster = new Dictionary<RedisClusterNode, List<string>>();
            for (var i = 0; keysByMaster.Count < _cluster.Masters.Count || keysByMaster.Values.Any(keys => keys.Count < 2); i++)
            {
                Assert.True(i < 1000, "1000 keys did not reach every master twice");
                var key = Unique($"key-{i}");
                var master = await _cluster.MasterForAsync(key);
                if (!keysByMaster.TryGetValue(master, out var keys))
                {
                    keysByMaster[master] = keys = [];
                }
                keys.Add(key);
            }

            foreach (var key in keysByMaster.Values.SelectMany(keys => keys))
            {
                Assert.True(await _database.StringSetAsync(key, "value of " + key).WithTimeout("a SET"));
            }

            foreach (var (master, keys) in keysByMaster)
            {
                foreach (var key in keys)
                {
                    Assert.Equal("value of " + key, (string?)await _database.StringGetAsync(key).WithTimeout("a GET"));
                    // A GET on the master itself would be MOVED if the key lived elsewhere.
                    Assert.Equal("value of " + key, await _cluster.ExecuteAsync(master, "GET", key));
                }
            }
        }

        [Fact]
        public async Task A_script_runs_on_keys_that_share_a_hash_tag()
        {
            var tag = "{" + Unique("script") + "}";
            RedisKey[] keys = [tag + ":name", tag + ":count"];
            Assert.Equal(await _cluster.KeySlotAsync(keys[0]!), await _cluster.KeySlotAsync(keys[1]!));
            const string script = "redis.call('SET', KEYS[1], ARGV[1]) return redis.call('INCRBY', KEYS[2], ARGV[2])";

            Assert.Equal(5, (long)await _database.ScriptEvaluateAsync(script, keys, ["first", 5]).WithTimeout("an EVAL"));
            Assert.Equal(12, (long)await _database.ScriptEvaluateAsync(script, keys, ["second", 7]).WithTimeout("an EVAL"));

            Assert.Equal("second", (string?)await _database.StringGetAsync(keys[0]).WithTimeout("a GET"));
        }

        [Fact]
        public async Task Sharded_pub_sub_delivers_through_the_master_of_the_channels_slot()
        {
            var name = Unique("news");
            var channel = RedisChannel.Sharded(name);
            var subscriber = fixture.Client.GetSubscriber();
            var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            await subscriber.SubscribeAsync(channel, (_, message) => received.TrySetResult(message.ToString())).WithTimeout("SSUBSCRIBE");
            try
            {
                // SSUBSCRIBE, not SUBSCRIBE: the master of the channel's slot counts the subscriber as a shard channel's.
                Assert.Equal(new object?[] { name, 1L }, await _cluster.ExecuteAsync(await _cluster.MasterForAsync(name), "PUBSUB", "SHARDNUMSUB", name));

                Assert.Equal(1, await subscriber.PublishAsync(channel, "hello").WithTimeout("SPUBLISH"));

                Assert.Equal("hello", await received.Task.WithTimeout("the sharded message"));
            }
            finally
            {
                await subscriber.UnsubscribeAsync(channel).WithTimeout("SUNSUBSCRIBE");
            }
        }

        [Fact]
        public async Task A_slot_moved_live_with_its_keys_keeps_every_key_readable_during_and_after_the_move()
        {
            var tag = "{" + Unique("move") + "}";
            // More keys than one MIGRATE batch (100), so the move takes several.
            var keys = Enumerable.Range(0, 250).Select(i => $"{tag}:{i}").ToList();
            await Task.WhenAll(keys.Select(key => _database.StringSetAsync(key, "value of " + key))).WithTimeout("the SETs");
            var slot = await _cluster.KeySlotAsync(tag);
            var source = await _cluster.MasterForAsync(tag);
            var target = _cluster.Masters.First(master => master != source);

            using var moved = new CancellationTokenSource();
            var reads = ReadWhileMovingAsync(keys, moved.Token);
            var started = Stopwatch.GetTimestamp();
            try
            {
                await _cluster.MoveSlotAsync(slot, target);
            }
            finally
            {
                await moved.CancelAsync();
            }
            output.WriteLine($"Slot {slot} moved with {keys.Count} keys in {Stopwatch.GetElapsedTime(started).TotalSeconds:F2} s; {await reads.WithTimeout("the reads during the move")} reads meanwhile.");

            Assert.Same(target, await _cluster.MasterForAsync(tag));
            Assert.True(target.Serves(slot) && !source.Serves(slot));
            Assert.Equal((long)keys.Count, await _cluster.ExecuteAsync(target, "CLUSTER", "COUNTKEYSINSLOT", slot.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            foreach (var key in keys)
            {
                // The client learns the new owner from MOVED.
                Assert.Equal("value of " + key, (string?)await _database.StringGetAsync(key).WithTimeout("a GET"));
            }
        }

        /// <summary>Reads the keys round and round until cancelled: every read must find its value, even mid-move (ASK).</summary>
        private async Task<int> ReadWhileMovingAsync(List<string> keys, CancellationToken moved)
        {
            var reads = 0;
            while (!moved.IsCancellationRequested)
            {
                var key = keys[reads % keys.Count];
                Assert.Equal("value of " + key, (string?)await _database.StringGetAsync(key).WithTimeout("a GET during the move"));
                reads++;
            }
            return reads;
        }
    }

    /// <summary>A cluster of its own, since it kills a master; its own class, so it starts beside the others.</summary>
    public sealed class ClusterFailover(ITestOutputHelper output)
    {
        [Fact]
        public async Task Killing_the_master_of_a_keys_slot_promotes_its_replica_the_key_stays_readable_and_the_old_master_rejoins_as_its_replica()
        {
            var started = Stopwatch.GetTimestamp();
            await using var cluster = await RedisCluster.StartAsync();
            output.WriteLine($"3 masters and 3 replicas started and joined in {Stopwatch.GetElapsedTime(started).TotalSeconds:F2} s.");
            await using var client = await ConnectAsync(cluster.Configuration);
            var database = client.GetDatabase();
            var key = Unique("failover");
            Assert.True(await database.StringSetAsync(key, "before").WithTimeout("a SET"));
            // Replication is asynchronous: without this, the kill could take the write with it.
            await cluster.WaitForReplicationAsync();
            var master = await cluster.MasterForAsync(key);
            var replica = cluster.Nodes.Single(node => node.MasterId == master.Id);

            started = Stopwatch.GetTimestamp();
            await cluster.KillAsync(master);
            var promoted = await cluster.WaitForFailoverAsync(master);
            output.WriteLine($"Failover detected {Stopwatch.GetElapsedTime(started).TotalSeconds:F2} s after the kill.");

            Assert.Same(replica, promoted);
            Assert.Equal(RedisClusterRole.Master, promoted.Role);
            Assert.Same(promoted, await cluster.MasterForAsync(key));
            await UntilClientAsync(
                async () => (string?)await database.StringGetAsync(key).WithTimeout("a GET") == "before",
                "the client to read the key from the promoted replica");
            output.WriteLine($"The client read the key again {Stopwatch.GetElapsedTime(started).TotalSeconds:F2} s after the kill.");
            Assert.True(await database.StringSetAsync(key, "after").WithTimeout("a SET on the promoted replica"));

            started = Stopwatch.GetTimestamp();
            await cluster.StartAgainAsync(master);
            output.WriteLine($"The old master rejoined in {Stopwatch.GetElapsedTime(started).TotalSeconds:F2} s.");

            Assert.Equal(RedisClusterRole.Replica, master.Role);
            Assert.Equal(promoted.Id, master.MasterId);
            Assert.Equal("after", (string?)await database.StringGetAsync(key).WithTimeout("a GET"));
        }
    }

    public sealed class Sentinel(ITestOutputHelper output)
    {
        [Fact]
        public async Task After_a_failover_the_same_client_writes_and_reads_on_the_promoted_replica_and_the_old_master_comes_back_as_its_replica()
        {
            var started = Stopwatch.GetTimestamp();
            await using var setup = await RedisSentinelSetup.StartAsync();
            output.WriteLine($"Master, replica and 3 sentinels ready in {Stopwatch.GetElapsedTime(started).TotalSeconds:F2} s.");
            await using var client = await ConnectAsync(setup.Configuration);
            var database = client.GetDatabase();
            var key = Unique("sentinel");
            Assert.True(await database.StringSetAsync(key, "before").WithTimeout("a SET"));
            Assert.Equal("before", (string?)await database.StringGetAsync(key).WithTimeout("a GET"));
            Assert.Equal("before", await setup.Master.ExecuteAsync("GET", key));
            await setup.WaitForReplicationAsync();
            var replica = setup.Replica;

            started = Stopwatch.GetTimestamp();
            await setup.KillMasterAsync();
            await setup.WaitForFailoverAsync();
            output.WriteLine($"The sentinels named the replica master {Stopwatch.GetElapsedTime(started).TotalSeconds:F2} s after the kill.");

            Assert.Same(replica, setup.Master);
            var after = Unique("sentinel-after");
            await UntilClientAsync(
                async () => await database.StringSetAsync(after, "after").WithTimeout("a SET"),
                "the client to write to the promoted replica");
            output.WriteLine($"The client wrote again {Stopwatch.GetElapsedTime(started).TotalSeconds:F2} s after the kill.");
            Assert.Equal("after", await setup.Master.ExecuteAsync("GET", after));
            Assert.Equal("before", (string?)await database.StringGetAsync(key).WithTimeout("a GET"));

            started = Stopwatch.GetTimestamp();
            await setup.StartAgainAsync();
            output.WriteLine($"The old master was a replica again {Stopwatch.GetElapsedTime(started).TotalSeconds:F2} s after it started.");
            Assert.Equal("after", (string?)await database.StringGetAsync(after).WithTimeout("a GET"));
        }
    }
}
