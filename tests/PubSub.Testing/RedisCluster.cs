using System.Globalization;

namespace PubSub.Testing;

/// <summary>
/// A real Redis Cluster on 127.0.0.1: masters × (1 + replicas) redis-server processes, each with a
/// temp directory of its own for its cluster config file and its append-only file, joined by
/// <c>redis-cli --cluster create</c>. Nodes can be killed (a crash), fail over, start again and
/// have slots moved between them, live. Every process is killed on dispose and when the test
/// process exits.
/// </summary>
public sealed class RedisCluster : IAsyncDisposable
{
    public const int SlotCount = 16384;

    /// <summary>
    /// How long a node is unreachable before the others count it failed: short, so a failover
    /// takes a few seconds; long enough that a loaded machine does not fail nodes that are fine.
    /// 1 s was not: with every suite running at once on two cores, a fresh cluster that had
    /// settled answered CLUSTERDOWN a moment later (once in a clean-clone run).
    /// </summary>
    private const int NodeTimeoutMilliseconds = 2000;

    /// <summary>A failover is detection (the node timeout, twice), a replica's delay (up to a second) and an election; generous for a loaded machine.</summary>
    private static readonly TimeSpan ChangeTimeout = TimeSpan.FromSeconds(30);

    private readonly List<RedisClusterNode> _nodes = [];

    private RedisCluster()
    {
    }

    /// <summary>Every node, killed ones included, in the order they were started.</summary>
    public IReadOnlyList<RedisClusterNode> Nodes => _nodes;

    /// <summary>The running masters, as of the last wait.</summary>
    public IReadOnlyList<RedisClusterNode> Masters => _nodes.Where(node => node.IsRunning && node.Role == RedisClusterRole.Master).ToList();

    /// <summary>The StackExchange.Redis configuration string: every node's endpoint.</summary>
    public string Configuration => string.Join(',', _nodes.Select(node => node.Endpoint));

    /// <summary>Starts the nodes, creates the cluster and waits until every node reports it ready and the replicas are in sync.</summary>
    /// <param name="masters">At least 3: redis-cli will not create a smaller cluster.</param>
    public static async Task<RedisCluster> StartAsync(int masters = 3, int replicasPerMaster = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(masters, 3);
        ArgumentOutOfRangeException.ThrowIfNegative(replicasPerMaster);
        var cluster = new RedisCluster();
        try
        {
            var starts = Enumerable.Range(0, masters * (1 + replicasPerMaster)).Select(_ => StartNodeAsync()).ToList();
            try
            {
                await Task.WhenAll(starts);
            }
            finally
            {
                cluster._nodes.AddRange(starts.Where(start => start.IsCompletedSuccessfully).Select(start => start.Result));
            }
            await RedisCli.RunAsync(
                ["--cluster", "create", .. cluster._nodes.Select(node => node.Endpoint), "--cluster-replicas", Text(replicasPerMaster), "--cluster-yes"],
                ChangeTimeout);
            await cluster.WaitUntilSettledAsync("the new cluster to be ready", () => null);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>The hash slot of a key, as the cluster computes it (CLUSTER KEYSLOT).</summary>
    public async Task<int> KeySlotAsync(string key) =>
        (int)(long)(await AnyRunningNode().Server.ExecuteAsync("CLUSTER", "KEYSLOT", key))!;

    /// <summary>The node that serves the slot of <paramref name="key"/> now, as a running node sees it (CLUSTER NODES).</summary>
    public async Task<RedisClusterNode> MasterForAsync(string key)
    {
        var slot = await KeySlotAsync(key);
        var view = await ClusterNodesLine.ReadAsync(AnyRunningNode());
        var owner = view.FirstOrDefault(line => line.IsMaster && line.Slots.Any(range => range.Contains(slot)))
            ?? throw new InvalidOperationException($"No node serves slot {slot} (of key '{key}').");
        return _nodes.Single(node => node.Id == owner.Id);
    }

    /// <summary>Kills a node (SIGKILL), as a crash would. Its data survives in its append-only file.</summary>
    public Task KillAsync(RedisClusterNode node) => Own(node).Server.KillAsync();

    /// <summary>
    /// Waits until a replica of <paramref name="killedMaster"/> serves its slots and every running
    /// node agrees and reports cluster_state:ok again; returns the promoted replica.
    /// </summary>
    public async Task<RedisClusterNode> WaitForFailoverAsync(RedisClusterNode killedMaster)
    {
        if (Own(killedMaster).IsRunning || killedMaster.Slots.Count == 0)
        {
            throw new InvalidOperationException($"{killedMaster} is not a killed master with slots.");
        }
        var slot = killedMaster.Slots[0].First;
        var replicas = _nodes.Where(node => node.MasterId == killedMaster.Id).ToList();
        await WaitUntilSettledAsync(
            $"a replica of {killedMaster.Endpoint} to take over its slots",
            () => replicas.Any(replica => replica.Serves(slot)) ? null : $"slot {slot} is served by {_nodes.FirstOrDefault(node => node.Serves(slot))}");
        return replicas.Single(replica => replica.Serves(slot));
    }

    /// <summary>
    /// Starts a killed node again on its port, with its data and cluster config; waits until the
    /// cluster took it back (a master that failed over comes back as a replica of its successor)
    /// and its replication link is up.
    /// </summary>
    public async Task StartAgainAsync(RedisClusterNode node)
    {
        await Own(node).Server.StartAgainAsync();
        await WaitUntilSettledAsync($"{node.Endpoint} to rejoin the cluster", () => null);
    }

    /// <summary>
    /// Moves a slot with its keys to another master, live, the way <c>redis-cli --cluster reshard</c>
    /// does: the target imports and the source migrates the slot (clients are sent to the target,
    /// with ASK, for keys already moved), the keys go over in batches with MIGRATE, then every master
    /// is told the new owner. Keys are read and migrated as UTF-8 text.
    /// </summary>
    public async Task MoveSlotAsync(int slot, RedisClusterNode target)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(slot);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(slot, SlotCount);
        await WaitUntilSettledAsync($"the cluster to settle before slot {slot} moves", () => null);
        if (!Own(target).IsRunning || target.Role != RedisClusterRole.Master)
        {
            throw new InvalidOperationException($"{target} is not a running master.");
        }
        var source = _nodes.Single(node => node.IsRunning && node.Serves(slot));
        if (source == target)
        {
            return;
        }
        await SlotMigration.MoveAsync(slot, source, target, Masters);
        await WaitUntilSettledAsync($"every node to see slot {slot} on {target.Endpoint}", () => target.Serves(slot) ? null : $"slot {slot} is still on {source}");
    }

    /// <summary>Waits until every running replica has every write its master acknowledged so far (before a kill, so a failover loses none).</summary>
    public async Task WaitForReplicationAsync()
    {
        foreach (var master in Masters)
        {
            var replicas = _nodes.Where(node => node.IsRunning && node.MasterId == master.Id).Select(node => node.Server).ToList();
            await RedisReplication.WaitUntilCaughtUpAsync(master.Server, replicas);
        }
    }

    /// <summary>Runs one command on one node: a string, a long, null, or an array of those.</summary>
    /// <exception cref="InvalidOperationException">Redis answered with an error (MOVED, ASK and CLUSTERDOWN included).</exception>
    public Task<object?> ExecuteAsync(RedisClusterNode node, params string[] command) => Own(node).Server.ExecuteAsync(command);

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.Server.DisposeAsync();
        }
    }

    private static async Task<RedisClusterNode> StartNodeAsync()
    {
        var server = await RedisServer.StartAsync(
            persistent: true,
            port =>
            [
                "--cluster-enabled", "yes",
                "--cluster-config-file", "nodes.conf",
                // An explicit bus port: the default, port + 10000, is past 65535 for many free ports.
                "--cluster-port", Text(FreePort.Next()),
                "--cluster-node-timeout", Text(NodeTimeoutMilliseconds),
                // A replica may always take over, however long a stalled machine kept it from its master.
                "--cluster-replica-validity-factor", "0",
            ],
            name: "redis-cluster");
        try
        {
            return new RedisClusterNode(server, (string)(await server.ExecuteAsync("CLUSTER", "MYID"))!);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Waits until the cluster has settled (<see cref="ClusterSettlement"/>) and
    /// <paramref name="expectation"/>, which reads the nodes' agreed roles and slots, returns null.
    /// </summary>
    private Task WaitUntilSettledAsync(string what, Func<string?> expectation) =>
        RedisPolling.UntilAsync(async () => await ClusterSettlement.ProblemAsync(_nodes) ?? expectation(), what, ChangeTimeout);

    private RedisClusterNode Own(RedisClusterNode node) =>
        _nodes.Contains(node) ? node : throw new ArgumentException($"{node} is not a node of this cluster.", nameof(node));

    private RedisClusterNode AnyRunningNode() =>
        _nodes.FirstOrDefault(node => node.IsRunning) ?? throw new InvalidOperationException("No node of the cluster is running.");

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
