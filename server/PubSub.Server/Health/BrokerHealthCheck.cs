using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace PubSub.Health;

/// <summary>
/// Readiness: whether this node can use its broker now (<see cref="IBroker.CheckAvailabilityAsync"/>).
/// A node whose Redis is unreachable would answer every publish and subscribe with
/// <c>unavailable</c>; a load balancer that asks this sends its clients elsewhere meanwhile.
/// </summary>
internal sealed class BrokerHealthCheck(PubSub.Diagnostics.MeasuredBroker broker) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        await broker.CheckAvailabilityAsync(cancellationToken) is { } problem
            ? HealthCheckResult.Unhealthy(problem)
            : HealthCheckResult.Healthy();
}
