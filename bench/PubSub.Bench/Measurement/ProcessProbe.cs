using System.Globalization;

namespace PubSub.Bench.Measurement;

/// <summary>A reading of one process from /proc: CPU time so far and resident memory.</summary>
public readonly record struct ProcessSample(TimeSpan CpuTime, long RssBytes);

/// <summary>
/// Reads another process's CPU time (utime + stime of /proc/PID/stat) and resident set
/// (VmRSS of /proc/PID/status). Cheap enough to read before and after a run without disturbing it.
/// </summary>
public static class ProcessProbe
{
    /// <summary>
    /// /proc/PID/stat counts in USER_HZ ticks, which the Linux ABI fixes at 100 on x86 and arm64
    /// (<c>getconf CLK_TCK</c> prints 100 on the bench machine). 10 ms resolution is ample for
    /// runs of several seconds of CPU.
    /// </summary>
    private const int TicksPerSecond = 100;

    public static int CurrentPid => Environment.ProcessId;

    public static ProcessSample Read(int pid)
    {
        return new ProcessSample(ReadCpu(pid), ReadRss(pid));
    }

    public static ProcessSample Sum(IReadOnlyList<int> pids)
    {
        var cpu = TimeSpan.Zero;
        long rss = 0;
        foreach (var pid in pids)
        {
            var sample = Read(pid);
            cpu += sample.CpuTime;
            rss += sample.RssBytes;
        }
        return new ProcessSample(cpu, rss);
    }

    public static TimeSpan ReadCpu(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        // The command name (field 2) is in parentheses and may contain spaces: count fields after it.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // Fields 14 and 15 of the man page (utime, stime) are at 11 and 12 after the name.
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds((double)ticks / TicksPerSecond);
    }

    public static long ReadRss(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                var kb = line["VmRSS:".Length..].Trim().Split(' ')[0];
                return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
            }
        }
        throw new InvalidOperationException($"/proc/{pid}/status has no VmRSS line.");
    }

    /// <summary>The soft limit on open files of a process: a connection needs one on each side.</summary>
    public static long? ReadOpenFilesLimit(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/limits"))
        {
            if (line.StartsWith("Max open files", StringComparison.Ordinal))
            {
                var parts = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return long.TryParse(parts[0], CultureInfo.InvariantCulture, out var soft) ? soft : null;
            }
        }
        return null;
    }
}
