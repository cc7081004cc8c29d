namespace PubSub.Host;

/// <summary>
/// <c>Host:InlineScheduling</c> (opt-in, off unless set to true): socket completions and Kestrel's
/// transport continue on the thread that saw the I/O instead of hopping to the thread pool. A
/// session's write then reaches the socket on the writer's own thread, which takes 10-34% off the
/// CPU per delivery of a fan-out with <c>PubSub:WriteDelay</c> (docs/benchmarks.md, tables 9c and 9d).
/// </summary>
/// <remarks>
/// Off by default because of what it risks. The I/O threads are one per core and the thread pool
/// does not grow them, and with this on the whole request pipeline runs there: one slow step (a
/// metrics scrape, a 1 MiB history reply, Brotli, the in-memory broker's fan-out into a channel of
/// many sessions, an application's own hook) stalls every connection that thread serves, where
/// ASP.NET Core's default would have moved it to the pool. Turn it on for a node that serves fan-out
/// with a write window and little else (docs/deployment.md, "Settings that matter in production").
/// The runtime reads its variable when the first socket starts an asynchronous operation: where a
/// startup hook opens sockets before Main, set <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c>
/// in the environment instead.
/// </remarks>
internal static class HostInlineScheduling
{
    public const string Key = "Host:InlineScheduling";

    /// <summary>Read by the runtime once, when the first socket starts an asynchronous operation.</summary>
    private const string RuntimeVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>Call before the host is built: no socket has done anything asynchronous yet.</summary>
    public static void UseInlineSchedulingIfEnabled(this WebApplicationBuilder builder)
    {
        if (!builder.Configuration.GetValue(Key, defaultValue: false))
        {
            return;
        }
        // An operator's own setting of the variable wins.
        if (Environment.GetEnvironmentVariable(RuntimeVariable) is null)
        {
            Environment.SetEnvironmentVariable(RuntimeVariable, "1");
        }
        builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = true);
    }
}
