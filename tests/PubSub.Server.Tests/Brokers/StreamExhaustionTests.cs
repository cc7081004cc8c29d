using System.Text;
using Xunit.Abstractions;

namespace PubSub.Server.Tests.Brokers;

/// <summary>
/// The attack that found streams unbounded: one WebSocket asking for the history of channel names
/// no one ever published to. Each read used to leave a stream in the node for 24 h (800 to 900 B
/// of resident memory per name, 157 to 180 MB for the 200,000 names here); now a never-published stream
/// lives among at most <see cref="MemoryBackplane.DefaultMaxEmptyStreams"/>, so the node stops growing.
/// </summary>
public sealed class StreamExhaustionTests(ITestOutputHelper output)
{
    private const int Names = 200_000;

    // Frames per WebSocket message: about 40 KB, under the Host's 64 KB message limit.
    private const int BatchSize = 500;

    // Past the empty-stream cap, and past the runtime's own start-up growth (the server GC sizing
    // its heap, buffers, tiered JIT), which peaks some 10 MB above where it settles: measured, the
    // Host's resident memory settles within 100,000 requests and then stays within 0.3 MB over the
    // next 900,000. The growth counted is from there to the highest reading after any later batch.
    private const int WarmUpNames = 100_000;

    // An empty stream costs about 205 B (measured with GC.GetTotalMemory: the stream, its lock,
    // epoch string and table entry) plus its name, 56 B here; doubled for the table's growth.
    private const long EmptyStreamCost = 512;

    // For what the runtime moves on its own: the garbage collector's cycle put the highest reading
    // 1 to 12 MB above the one after warming up (6 runs, half of them under 3 MB).
    private const long Margin = 32 * 1024 * 1024;

    [Fact]
    public async Task History_requests_for_fresh_channel_names_do_not_grow_the_node()
    {
        await using var host = await HostProcess.StartAsync(new Dictionary<string, string>());
        await using var client = await WsClient.ConnectAsync(new Uri($"ws://127.0.0.1:{host.Port}/pubsub/ws"));
        var names = new FreshNames();

        await ReadFreshNamesAsync(host, client, WarmUpNames, names);
        var before = ProcessMemory.ResidentBytes(host.ProcessId);
        var after = await ReadFreshNamesAsync(host, client, Names, names);

        var bound = MemoryBackplane.DefaultMaxEmptyStreams * EmptyStreamCost + Margin;
        var growth = after - before;
        output.WriteLine($"resident memory {before / 1024} KiB after warming up, at most {after / 1024} KiB over {Names} fresh names: {growth / 1024} KiB ({growth / (double)Names:0} B per name); bound {bound / 1024} KiB");
        Assert.True(growth <= bound, $"The node grew by {growth / 1024} KiB ({growth / (double)Names:0} B per name) reading {Names} fresh channel names; at most {bound / 1024} KiB was expected.");
    }

    /// <summary>
    /// Asks for the history of <paramref name="count"/> names no one used, a batch of frames per
    /// message, awaiting each batch's replies. Returns the highest resident memory seen after a batch.
    /// </summary>
    private static async Task<long> ReadFreshNamesAsync(HostProcess host, WsClient client, int count, FreshNames names)
    {
        var peak = 0L;
        var batch = new StringBuilder();
        for (var sent = 0; sent < count; sent += BatchSize)
        {
            batch.Clear();
            var size = Math.Min(BatchSize, count - sent);
            for (var i = 0; i < size; i++)
            {
                var n = names.Next();
                batch.Append("{\"type\":\"history\",\"id\":").Append(n).Append(",\"channel\":\"chat/fresh-").Append(n).Append("\",\"limit\":1}\n");
            }
            await client.SendRawAsync(batch.ToString()).WithTimeout("a batch of history requests to be sent");
            for (var i = 0; i < size; i++)
            {
                // The run outlasts the ping interval on a slow machine: the node's pings come between the replies.
                var reply = await client.NextOfTypeAsync("reply", "ping");
                Assert.True(reply.TryGetProperty("result", out _), $"A history request failed: {reply}");
            }
            peak = Math.Max(peak, ProcessMemory.ResidentBytes(host.ProcessId));
        }
        return peak;
    }

    private sealed class FreshNames
    {
        private int _next;

        public int Next() => ++_next;
    }
}
