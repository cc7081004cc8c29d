using System.Globalization;

namespace PubSub.Testing;

/// <summary>
/// A live move of one hash slot between masters, in the steps of the cluster specification (and of
/// <c>redis-cli --cluster reshard</c>).
/// </summary>
internal static class SlotMigration
{
    /// <summary>Keys per MIGRATE, as redis-cli's default pipeline.</summary>
    private const int BatchSize = 100;

    private const string MigrateTimeoutMilliseconds = "5000";

    public static async Task MoveAsync(int slot, RedisClusterNode source, RedisClusterNode target, IReadOnlyList<RedisClusterNode> masters)
    {
        var slotText = slot.ToString(CultureInfo.InvariantCulture);
        // Importing first: once the source migrates, it sends clients to the target with ASK, which
        // the target must accept.
        await target.Server.ExecuteAsync("CLUSTER", "SETSLOT", slotText, "IMPORTING", source.Id);
        await source.Server.ExecuteAsync("CLUSTER", "SETSLOT", slotText, "MIGRATING", target.Id);
        // While migrating, a key the source lacks is created on the target, so the source's keys of
        // the slot only get fewer and this loop ends.
        while ((object?[])(await source.Server.ExecuteAsync("CLUSTER", "GETKEYSINSLOT", slotText, BatchSize.ToString(CultureInfo.InvariantCulture)))! is { Length: > 0 } keys)
        {
            await source.Server.ExecuteAsync(
            [
                "MIGRATE", "127.0.0.1", target.Port.ToString(CultureInfo.InvariantCulture), "", "0", MigrateTimeoutMilliseconds,
                "KEYS", .. keys.Cast<string>(),
            ]);
        }
        // The target first, so it bumps its config epoch and its claim wins everywhere; then the
        // source, which stops sending clients on with ASK; then the others, rather than by gossip.
        foreach (var master in masters.OrderBy(master => master == target ? 0 : master == source ? 1 : 2))
        {
            await master.Server.ExecuteAsync("CLUSTER", "SETSLOT", slotText, "NODE", target.Id);
        }
    }
}
