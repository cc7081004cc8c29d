using System.Globalization;

namespace PubSub.Testing;

/// <summary>
/// Redis under Sentinel on 127.0.0.1: a master, a replica of it and three sentinels (quorum 2),
/// each process on a free port with a temp directory of its own, and append-only files on both
/// data servers. The master can be killed; the sentinels then promote the replica. Every process
/// is killed on dispose and when the test process exits.
/// </summary>
public sealed class RedisSentinelSetup : IAsyncDisposable
{
    private const int SentinelCount = 3;
    private const int Quorum = 2;

    /// <summary>How long the master is unreachable before a sentinel counts it down: short, so a failover takes seconds.</summary>
    private const int DownAfterMilliseconds = 1000;

    /// <summary>
    /// Also how long the sentinels wait before they try again when an election found no leader
    /// (twice this), which is what makes the slowest failovers; short for that reason.
    /// </summary>
    private const int FailoverTimeoutMilliseconds = 5000;

    /// <summary>A failover is detection, an election (tried again after twice the failover timeout if it found no leader) and the promotion.</summary>
    private static readonly TimeSpan ChangeTimeout = TimeSpan.FromSeconds(30);

    private readonly List<RedisProcess> _sentinels = [];
    private RedisServer? _killed;

    private RedisSentinelSetup(string serviceName, RedisServer master, RedisServer replica)
    {
        ServiceName = serviceName;
        Master = master;
        Replica = replica;
    }

    /// <summary>The name the sentinels monitor the master by.</summary>
    public string ServiceName { get; }

    /// <summary>The master, as of the last wait: after <see cref="WaitForFailoverAsync"/>, the replica that was promoted.</summary>
    public RedisServer Master { get; private set; }

    /// <summary>The replica, as of the last wait: after <see cref="WaitForFailoverAsync"/>, the master that was killed.</summary>
    public RedisServer Replica { get; private set; }

    public IReadOnlyList<int> SentinelPorts => _sentinels.Select(sentinel => sentinel.Port).ToList();

    /// <summary>The StackExchange.Redis configuration string: the sentinels, and the service to ask them for.</summary>
    public string Configuration => string.Join(',', _sentinels.Select(sentinel => $"127.0.0.1:{sentinel.Port}")) + ",serviceName=" + ServiceName;

    /// <summary>Starts the master, the replica and the sentinels; waits until every sentinel knows the master, the replica and the other sentinels.</summary>
    public static async Task<RedisSentinelSetup> StartAsync(string serviceName = "pubsub")
    {
        var master = await RedisServer.StartAsync(persistent: true, _ => [], name: "redis-master");
        RedisServer replica;
        try
        {
            replica = await RedisServer.StartAsync(persistent: true, _ => ["--replicaof", "127.0.0.1", Text(master.Port)], name: "redis-replica");
        }
        catch
        {
            await master.DisposeAsync();
            throw;
        }
        var setup = new RedisSentinelSetup(serviceName, master, replica);
        try
        {
            for (var i = 0; i < SentinelCount; i++)
            {
                await setup.StartSentinelAsync();
            }
            await setup.WaitUntilSettledAsync("the sentinels to know the master, the replica and each other");
            return setup;
        }
        catch
        {
            await setup.DisposeAsync();
            throw;
        }
    }

    /// <summary>Kills the master (SIGKILL), as a crash would; its data survives in its append-only file.</summary>
    public async Task KillMasterAsync()
    {
        _killed = Master;
        await Master.KillAsync();
    }

    /// <summary>
    /// Waits until every sentinel reports the replica as the master (SENTINEL
    /// get-master-addr-by-name) and the replica says it is one; then <see cref="Master"/> and
    /// <see cref="Replica"/> swap.
    /// </summary>
    public async Task WaitForFailoverAsync()
    {
        var promoted = Replica;
        await RedisPolling.UntilAsync(
            async () => await MasterProblemAsync(promoted),
            $"the sentinels to promote the replica on port {promoted.Port}",
            ChangeTimeout);
        (Master, Replica) = (promoted, Master);
    }

    /// <summary>
    /// Starts the master that <see cref="KillMasterAsync"/> killed again, with its data, as a
    /// replica of the current master; waits until it is in sync and every sentinel sees it so.
    /// </summary>
    /// <remarks>
    /// It starts as a replica, as an operator brings back a failed master: it then never serves
    /// as a second master, and it rejoins in a second or two. Started as a master, the sentinels
    /// would turn it into a replica too, but only once it reported itself master for 8 s and they
    /// next looked (every 10 s): 20 s, measured.
    /// </remarks>
    public async Task StartAgainAsync()
    {
        var server = _killed ?? throw new InvalidOperationException("No master was killed.");
        await server.StartAgainAsync(["--replicaof", "127.0.0.1", Text(Master.Port)]);
        _killed = null;
        await WaitUntilSettledAsync($"the sentinels to make the server on port {server.Port} a replica again");
    }

    /// <summary>Waits until the replica has every write the master acknowledged so far (before a kill, so the failover loses none).</summary>
    public Task WaitForReplicationAsync() =>
        RedisReplication.WaitUntilCaughtUpAsync(Master, Replica.IsRunning ? [Replica] : []);

    public async ValueTask DisposeAsync()
    {
        foreach (var sentinel in _sentinels)
        {
            await sentinel.DisposeAsync();
        }
        await Master.DisposeAsync();
        await Replica.DisposeAsync();
    }

    private async Task StartSentinelAsync()
    {
        var sentinel = new RedisProcess("redis-sentinel", RedisProcess.SentinelReady);
        _sentinels.Add(sentinel);
        // The sentinel rewrites this file with what it learns, so it lives in the sentinel's directory.
        var config = Path.Combine(sentinel.Directory, "sentinel.conf");
        await File.WriteAllLinesAsync(config,
        [
            $"sentinel monitor {ServiceName} 127.0.0.1 {Master.Port} {Quorum}",
            $"sentinel down-after-milliseconds {ServiceName} {DownAfterMilliseconds}",
            $"sentinel failover-timeout {ServiceName} {FailoverTimeoutMilliseconds}",
            $"sentinel parallel-syncs {ServiceName} 1",
        ]);
        await sentinel.StartOnFreePortAsync(_ => [config, "--sentinel"]);
    }

    private Task WaitUntilSettledAsync(string what) =>
        RedisPolling.UntilAsync(
            async () => await MasterProblemAsync(Master) ?? await ReplicaProblemAsync(),
            what,
            ChangeTimeout);

    /// <summary>Null when every running sentinel names <paramref name="master"/> as the master, without a failover under way, and knows the other sentinels; and it says it is a master.</summary>
    private async Task<string?> MasterProblemAsync(RedisServer master)
    {
        var running = _sentinels.Where(sentinel => sentinel.IsRunning).ToList();
        foreach (var sentinel in running)
        {
            if ((object?[]?)await sentinel.ExecuteAsync("SENTINEL", "get-master-addr-by-name", ServiceName) is not [_, string port] || port != Text(master.Port))
            {
                return $"the sentinel on port {sentinel.Port} does not name port {master.Port} as the master";
            }
            var state = Fields(await sentinel.ExecuteAsync("SENTINEL", "master", ServiceName));
            if (state["flags"] != "master")
            {
                return $"the sentinel on port {sentinel.Port} sees the master as {state["flags"]}";
            }
            if (state["num-other-sentinels"] != Text(running.Count - 1))
            {
                return $"the sentinel on port {sentinel.Port} knows {state["num-other-sentinels"]} other sentinels";
            }
        }
        var role = (await RedisInfo.ReadAsync(master, "INFO", "replication")).GetValueOrDefault("role");
        return role == "master" ? null : $"the server on port {master.Port} is a {role}";
    }

    /// <summary>Null when the replica, if it runs, is linked to the master, and every running sentinel sees it so.</summary>
    private async Task<string?> ReplicaProblemAsync()
    {
        if (!Replica.IsRunning)
        {
            return null;
        }
        var info = await RedisInfo.ReadAsync(Replica, "INFO", "replication");
        if (info.GetValueOrDefault("master_port") != Text(Master.Port) || info.GetValueOrDefault("master_link_status") != "up")
        {
            return $"the server on port {Replica.Port} is not a linked replica of port {Master.Port}";
        }
        foreach (var sentinel in _sentinels.Where(sentinel => sentinel.IsRunning))
        {
            var replicas = ((object?[])(await sentinel.ExecuteAsync("SENTINEL", "replicas", ServiceName))!).Select(Fields);
            if (!replicas.Any(replica => replica["port"] == Text(Replica.Port) && replica["flags"] == "slave"
                && replica["master-port"] == Text(Master.Port) && replica["master-link-status"] == "ok"))
            {
                return $"the sentinel on port {sentinel.Port} does not see port {Replica.Port} as a healthy replica";
            }
        }
        return null;
    }

    /// <summary>A sentinel's description of an instance: a flat array of names and values.</summary>
    private static Dictionary<string, string> Fields(object? reply)
    {
        var items = (object?[])reply!;
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < items.Length; i += 2)
        {
            fields[(string)items[i]!] = items[i + 1] as string ?? "";
        }
        return fields;
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
