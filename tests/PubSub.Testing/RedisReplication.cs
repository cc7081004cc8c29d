using System.Globalization;

namespace PubSub.Testing;

/// <summary>
/// Replication is asynchronous: a write the master acknowledged may not have reached its replicas
/// yet, and a failover then loses it. A test that kills a master waits for this first.
/// </summary>
internal static class RedisReplication
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>Waits until every replica has processed the master's replication stream up to where it stands now.</summary>
    public static async Task WaitUntilCaughtUpAsync(RedisServer master, IReadOnlyCollection<RedisServer> replicas)
    {
        if (replicas.Count == 0)
        {
            return;
        }
        var target = Offset(await RedisInfo.ReadAsync(master, "INFO", "replication"), "master_repl_offset");
        await RedisPolling.UntilAsync(
            async () =>
            {
                foreach (var replica in replicas)
                {
                    var info = await RedisInfo.ReadAsync(replica, "INFO", "replication");
                    if (info.GetValueOrDefault("master_link_status") != "up")
                    {
                        return $"the replica on port {replica.Port} has no link to its master";
                    }
                    if (Offset(info, "slave_repl_offset") < target)
                    {
                        return $"the replica on port {replica.Port} is at offset {info["slave_repl_offset"]} of {target}";
                    }
                }
                return null;
            },
            $"the replicas of the master on port {master.Port} to reach its replication offset {target}",
            Timeout);
    }

    private static long Offset(IReadOnlyDictionary<string, string> info, string field) =>
        long.Parse(info.TryGetValue(field, out var value) ? value : "-1", CultureInfo.InvariantCulture);
}
