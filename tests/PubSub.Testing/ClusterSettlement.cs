namespace PubSub.Testing;

/// <summary>
/// Whether a cluster has settled after a change: the state a test can go on from. Nodes learn of
/// a change by gossip, one after the other, so the check reads every running node.
/// </summary>
internal static class ClusterSettlement
{
    /// <summary>
    /// Null when every running node reports cluster_state:ok, knows every other running node as
    /// healthy and linked, all agree on who serves which slots and who replicates whom, running
    /// masters serve every slot and every running replica's replication link is up; what is not so
    /// otherwise. On agreement the nodes' roles and slots are updated to it.
    /// </summary>
    public static async Task<string?> ProblemAsync(IReadOnlyList<RedisClusterNode> nodes)
    {
        var running = nodes.Where(node => node.IsRunning).ToList();
        var runningIds = running.Select(node => node.Id).ToHashSet(StringComparer.Ordinal);
        (RedisClusterNode Node, IReadOnlyList<ClusterNodesLine> View, string Assignment)? agreed = null;
        foreach (var node in running)
        {
            var state = (await RedisInfo.ReadAsync(node.Server, "CLUSTER", "INFO")).GetValueOrDefault("cluster_state");
            if (state != "ok")
            {
                return $"{node.Endpoint} reports cluster_state:{state}";
            }
            var view = await ClusterNodesLine.ReadAsync(node);
            foreach (var other in running)
            {
                var line = view.FirstOrDefault(line => line.Id == other.Id);
                if (line is null || line.IsFailing || !line.Linked)
                {
                    return $"{node.Endpoint} sees {other.Endpoint} as {(line is null ? "unknown" : string.Join(',', line.Flags) + (line.Linked ? "" : ", not linked"))}";
                }
            }
            var assignment = string.Join(" | ", view.Where(line => runningIds.Contains(line.Id)).OrderBy(line => line.Id, StringComparer.Ordinal).Select(line => line.Assignment));
            if (agreed is null)
            {
                agreed = (node, view, assignment);
            }
            else if (assignment != agreed.Value.Assignment)
            {
                return $"{agreed.Value.Node.Endpoint} and {node.Endpoint} disagree:\n  {agreed.Value.Assignment}\n  {assignment}";
            }
        }
        if (agreed is not { View: var agreedView })
        {
            return "no node is running";
        }
        var served = agreedView.Where(line => line.IsMaster && runningIds.Contains(line.Id)).Sum(line => line.Slots.Sum(range => range.Count));
        if (served != RedisCluster.SlotCount)
        {
            return $"the running masters serve {served} of {RedisCluster.SlotCount} slots";
        }
        Apply(nodes, agreedView);
        foreach (var replica in running.Where(node => node.Role == RedisClusterRole.Replica))
        {
            if ((await RedisInfo.ReadAsync(replica.Server, "INFO", "replication")).GetValueOrDefault("master_link_status") != "up")
            {
                return $"the replication link of {replica.Endpoint} is not up";
            }
        }
        return null;
    }

    private static void Apply(IReadOnlyList<RedisClusterNode> nodes, IReadOnlyList<ClusterNodesLine> view)
    {
        foreach (var line in view)
        {
            if (nodes.FirstOrDefault(node => node.Id == line.Id) is { } node)
            {
                node.Role = line.IsMaster ? RedisClusterRole.Master : RedisClusterRole.Replica;
                node.MasterId = line.MasterId;
                node.Slots = line.Slots;
            }
        }
    }
}
