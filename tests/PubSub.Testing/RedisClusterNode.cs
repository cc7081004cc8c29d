namespace PubSub.Testing;

public enum RedisClusterRole
{
    Master,
    Replica,
}

/// <summary>A range of hash slots, both ends included.</summary>
public readonly record struct SlotRange(int First, int Last)
{
    public int Count => Last - First + 1;

    public bool Contains(int slot) => slot >= First && slot <= Last;

    public override string ToString() => First == Last ? $"{First}" : $"{First}-{Last}";
}

/// <summary>
/// One node of a <see cref="RedisCluster"/>. Its id never changes (it lives in the node's cluster
/// config file); its role and slots are the cluster's agreed view as of the cluster's last wait
/// (start, failover, start again, slot move), since the cluster changes them on its own.
/// </summary>
public sealed class RedisClusterNode
{
    internal RedisClusterNode(RedisServer server, string id)
    {
        Server = server;
        Id = id;
    }

    /// <summary>
    /// The node's process: to pause and resume it, or to run raw commands. Kill it and start it
    /// again through <see cref="RedisCluster"/>, which waits for the cluster to take it in.
    /// </summary>
    public RedisServer Server { get; }

    public string Id { get; }

    public int Port => Server.Port;

    public string Endpoint => $"127.0.0.1:{Port}";

    public bool IsRunning => Server.IsRunning;

    public RedisClusterRole Role { get; internal set; }

    /// <summary>The id of the master this node replicates; null for a master.</summary>
    public string? MasterId { get; internal set; }

    /// <summary>The slots this node serves; empty for a replica.</summary>
    public IReadOnlyList<SlotRange> Slots { get; internal set; } = [];

    public bool Serves(int slot) => Slots.Any(range => range.Contains(slot));

    public override string ToString() =>
        $"{Endpoint} {Role}{(Slots.Count > 0 ? " " + string.Join(',', Slots) : "")}{(IsRunning ? "" : " (killed)")}";
}
