using System.Globalization;

namespace PubSub.Testing;

/// <summary>
/// What the kernel says a process holds in memory, for tests that bound a server's growth. Read
/// from <c>/proc/{pid}/status</c> (Linux): resident memory is what a node costs its machine,
/// whatever the garbage collector thinks of its heap.
/// </summary>
public static class ProcessMemory
{
    /// <summary>The process's resident set size (<c>VmRSS</c>), in bytes.</summary>
    public static long ResidentBytes(int processId)
    {
        foreach (var line in File.ReadLines($"/proc/{processId.ToString(CultureInfo.InvariantCulture)}/status"))
        {
            // "VmRSS:     123456 kB"
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                var value = line["VmRSS:".Length..].Trim();
                if (!value.EndsWith(" kB", StringComparison.Ordinal))
                {
                    throw new FormatException($"Unexpected unit in /proc/{processId}/status: '{line}'.");
                }
                return long.Parse(value[..^" kB".Length], CultureInfo.InvariantCulture) * 1024;
            }
        }
        throw new InvalidOperationException($"/proc/{processId}/status has no VmRSS line: is the process a zombie?");
    }
}
