namespace PubSub.Host;

/// <summary>
/// <c>Host:InlineScheduling</c> (on unless set to false): socket completions and Kestrel's transport
/// continue on the thread that saw the I/O instead of hopping to the thread pool. A session's write
/// then reaches the socket on the writer's own thread, which takes about 10% off the CPU per delivery
/// of a fan-out with <c>PubSub:WriteDelay</c> (docs/benchmarks.md, table 9c).
/// </summary>
/// <remarks>
/// Microsoft calls the Kestrel half unsafe because application code then runs on the I/O threads,
/// where code that blocks would stall every connection those threads serve. The code the Host runs
/// there is its own and does not block: the frame handler, the fan-out into sessions' queues, the
/// writers, the server API. An application that hosts <c>PubSub.Server</c> with hooks of its own
/// decides for itself (docs/deployment.md, "Settings that matter in production").
/// </remarks>
internal static class HostInlineScheduling
{
    public const string Key = "Host:InlineScheduling";

    /// <summary>Read by the runtime once, when the first socket starts an asynchronous operation.</summary>
    private const string RuntimeVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>Call before the host is built: no socket has done anything asynchronous yet.</summary>
    public static void UseInlineSchedulingIfEnabled(this WebApplicationBuilder builder)
    {
        if (!builder.Configuration.GetValue(Key, defaultValue: true))
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
