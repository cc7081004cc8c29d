namespace PubSub.Redis;

/// <summary>
/// Which shard holds a channel (or a node's messages): FNV-1a (64-bit) of the name's UTF-16 code
/// units, mixed with the SplitMix64 finalizer, then the jump consistent hash of Lamping and Veach
/// ("A Fast, Minimal Memory, Consistent Hash Algorithm", 2014) over the number of shards. Adding a
/// shard at the end of the list moves about 1/(n+1) of the channels and no others; the mapping
/// depends on nothing but the name and the count, so every node computes the same answer.
/// </summary>
internal static class ShardMap
{
    public static int ShardOf(string name, int shards)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(shards);
        return shards == 1 ? 0 : JumpConsistentHash(Mix(Fnv1a(name)), shards);
    }

    internal static int JumpConsistentHash(ulong key, int buckets)
    {
        long bucket = -1;
        long next = 0;
        while (next < buckets)
        {
            bucket = next;
            key = unchecked((key * 2862933555777941757UL) + 1);
            next = (long)((bucket + 1) * ((double)(1L << 31) / ((key >> 33) + 1)));
        }
        return (int)bucket;
    }

    private static ulong Fnv1a(string name)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in name)
        {
            hash = unchecked((hash ^ c) * 1099511628211UL);
        }
        return hash;
    }

    private static ulong Mix(ulong z)
    {
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return z ^ (z >> 31);
    }
}
