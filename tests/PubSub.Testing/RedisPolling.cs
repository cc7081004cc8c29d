using System.Net.Sockets;

namespace PubSub.Testing;

/// <summary>
/// Waits for a state of several Redis processes that no event announces (a cluster that agrees on
/// its slots, sentinels that agree on a master), reading it again and again.
/// </summary>
internal static class RedisPolling
{
    /// <summary>One look reads every node, so the looks are spaced to leave the nodes the CPU.</summary>
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Waits until <paramref name="problem"/> returns null. Otherwise it says what is still wrong,
    /// and the last such answer ends the timeout's message, so a failed wait tells why. A node
    /// that refuses the connection or answers with an error (CLUSTERDOWN, LOADING) is a problem of
    /// the moment, not a failure.
    /// </summary>
    public static async Task UntilAsync(Func<Task<string?>> problem, string what, TimeSpan timeout)
    {
        string? last = "nothing was read yet";
        try
        {
            await Timeouts.Until(
                async () =>
                {
                    try
                    {
                        last = await problem();
                    }
                    catch (Exception e) when (e is IOException or SocketException or RedisReplyException or TimeoutException)
                    {
                        last = e.Message;
                    }
                    return last is null;
                },
                what,
                timeout,
                Interval);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message} Last seen: {last}", e);
        }
    }
}
