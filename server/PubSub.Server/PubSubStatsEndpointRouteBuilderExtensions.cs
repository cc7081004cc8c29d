using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using PubSub;
using PubSub.Diagnostics;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the node's snapshot for operators' dashboards.</summary>
public static class PubSubStatsEndpointRouteBuilderExtensions
{
    /// <summary>Default for <c>maxChannels</c> of <see cref="MapPubSubStats"/>: the 20 channels with the most subscribers.</summary>
    public const int DefaultMaxChannels = 20;

    /// <summary>
    /// Maps <c>GET {pattern}</c>: this node's id, broker, uptime and readiness, the live nodes (from
    /// the control plane), its sessions by transport, its channel and subscription counts with the
    /// <paramref name="maxChannels"/> channels that have the most subscribers (at most 1,000), here
    /// and on all nodes together, and running totals of accepted
    /// publications, deliveries and bytes sent, as JSON. It is guarded as the server API is (see
    /// <see cref="PubSubEndpointRouteBuilderExtensions.RequirePubSubApiKey"/>): the API key, or an
    /// authorization policy put on the returned builder; with neither it refuses every call.
    /// </summary>
    public static IEndpointConventionBuilder MapPubSubStats(this IEndpointRouteBuilder endpoints, string pattern = "/pubsub-stats", int maxChannels = DefaultMaxChannels)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentOutOfRangeException.ThrowIfNegative(maxChannels);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxChannels, NodeSnapshot.MaxTopChannels);
        if (endpoints.ServiceProvider.GetService<PubSubMarker>() is null)
        {
            throw new InvalidOperationException(
                $"{nameof(MapPubSubStats)}() needs PubSub's services: call 'builder.Services.AddPubSub(...)' before building the application.");
        }
        // Made now, at start-up, so its totals count from the node's start rather than from the first look.
        var snapshot = endpoints.ServiceProvider.GetRequiredService<NodeSnapshot>();
        var endpoint = new NodeStatsEndpoint(snapshot, endpoints.ServiceProvider.GetRequiredService<IPubSubControl>(), maxChannels);
        return endpoints.MapGet(pattern, (RequestDelegate)endpoint.HandleAsync).RequirePubSubApiKey();
    }
}
