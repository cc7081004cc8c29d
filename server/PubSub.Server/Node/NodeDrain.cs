using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PubSub.Protocol;
using PubSub.Sessions;

namespace PubSub.Node;

/// <summary>
/// The node's way out when the host stops, with <see cref="PubSubDrain"/> set: it turns not-ready
/// (its readiness check fails, new sessions are refused), keeps serving for
/// <see cref="PubSubDrain.Delay"/> while the load balancer notices, then tells its clients to
/// reconnect (4000) spread evenly over <see cref="PubSubDrain.Window"/>. It runs in the host's
/// stopping phase, before the server stops listening, so every client still connected hears it.
/// A node with no sessions has nobody to drain and stops at once.
/// </summary>
internal sealed partial class NodeDrain(
    SessionRegistry sessions,
    IOptions<PubSubOptions> options,
    TimeProvider time,
    ILogger<NodeDrain> logger) : IHostedLifecycleService, IHealthCheck
{
    // A wake-up closes every session that is due; shorter waits than this are not worth a timer.
    private static readonly TimeSpan s_step = TimeSpan.FromMilliseconds(20);

    private volatile bool _draining;

    public bool IsDraining => _draining;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        var drain = options.Value.Drain;
        if (!drain.IsEnabled)
        {
            return;
        }
        _draining = true;
        if (sessions.Count == 0)
        {
            return;
        }
        Log.Draining(logger, sessions.Count, drain.Delay, drain.Window);
        try
        {
            await Task.Delay(drain.Delay, time, cancellationToken);
            await CloseSpreadAsync(drain.Window, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // The host's shutdown timeout ran out: PubSubNode closes whoever is left.
        }
    }

    /// <summary>Closes the sessions open now, the i-th of n at start + window × i / n.</summary>
    private async Task CloseSpreadAsync(TimeSpan window, CancellationToken cancellationToken)
    {
        var open = sessions.All.ToList();
        var start = time.GetUtcNow();
        for (var i = 0; i < open.Count; i++)
        {
            var wait = start + window * i / open.Count - time.GetUtcNow();
            if (wait > s_step)
            {
                await Task.Delay(wait, time, cancellationToken);
            }
            open[i].Close(DisconnectReason.Shutdown);
        }
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_draining ? HealthCheckResult.Unhealthy("The node is shutting down.") : HealthCheckResult.Healthy());

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Draining {Sessions} sessions: not ready for {Delay}, then moving them over {Window}.")]
        public static partial void Draining(ILogger logger, int sessions, TimeSpan delay, TimeSpan window);
    }
}
