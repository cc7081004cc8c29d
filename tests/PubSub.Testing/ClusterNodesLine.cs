using System.Globalization;

namespace PubSub.Testing;

/// <summary>
/// One line of CLUSTER NODES: what one node believes of another (or of itself, "myself"):
/// <c>&lt;id&gt; &lt;ip:port@bus-port[,hostname]&gt; &lt;flags&gt; &lt;master id or -&gt; &lt;ping sent&gt; &lt;pong received&gt; &lt;config epoch&gt; &lt;link state&gt; &lt;slot or range&gt;...</c>
/// </summary>
internal sealed record ClusterNodesLine(string Id, int Port, IReadOnlySet<string> Flags, string? MasterId, bool Linked, IReadOnlyList<SlotRange> Slots)
{
    public bool IsMaster => Flags.Contains("master");

    /// <summary>Failing (fail) or suspected of it by this node (fail?).</summary>
    public bool IsFailing => Flags.Contains("fail") || Flags.Contains("fail?");

    public bool IsMyself => Flags.Contains("myself");

    /// <summary>The role, master and slots, the part of a line that nodes which agree have the same.</summary>
    public string Assignment => $"{Id[..8]}:{(IsMaster ? "master" : "replica of " + MasterId?[..8])} {string.Join(',', Slots)}";

    /// <summary>What <paramref name="node"/> believes of every node it knows.</summary>
    public static async Task<IReadOnlyList<ClusterNodesLine>> ReadAsync(RedisClusterNode node) =>
        ParseAll((string)(await node.Server.ExecuteAsync("CLUSTER", "NODES"))!);

    public static IReadOnlyList<ClusterNodesLine> ParseAll(string reply) =>
        reply.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(Parse).ToList();

    private static ClusterNodesLine Parse(string line)
    {
        var fields = line.Split(' ');
        var address = fields[1].Split('@')[0];
        return new ClusterNodesLine(
            Id: fields[0],
            Port: int.Parse(address[(address.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture),
            Flags: fields[2].Split(',').ToHashSet(StringComparer.Ordinal),
            MasterId: fields[3] == "-" ? null : fields[3],
            Linked: fields[7] == "connected",
            // Slots being migrated are listed as "[slot->-id]" or "[slot-<-id]" beside the ranges.
            Slots: fields.Skip(8).Where(slot => !slot.StartsWith('[')).Select(ParseRange).ToList());
    }

    private static SlotRange ParseRange(string text)
    {
        var dash = text.IndexOf('-', StringComparison.Ordinal);
        return dash < 0
            ? new SlotRange(int.Parse(text, CultureInfo.InvariantCulture), int.Parse(text, CultureInfo.InvariantCulture))
            : new SlotRange(int.Parse(text[..dash], CultureInfo.InvariantCulture), int.Parse(text[(dash + 1)..], CultureInfo.InvariantCulture));
    }
}
