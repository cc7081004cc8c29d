namespace PubSub;

/// <summary>
/// What one node lets its clients take (<see cref="PubSubOptions.Limits"/>, section
/// <c>PubSub:Limits</c> in the Host). 0, the default of each, means no limit. A refusal carries
/// its own error code (protocol/error-codes.json) and counts in the <c>pubsub.limit.refusals</c>
/// metric under the limit's name (docs/deployment.md, "Limits").
/// </summary>
public sealed class PubSubLimits
{
    /// <summary>Sessions this node holds at once, over every transport. Past it, a connect gets 503 <c>over_capacity</c>, so a load balancer's retry can find another node.</summary>
    public int MaxConnections { get; set; }

    /// <summary>Sessions of one signed-in user on this node at once (anonymous clients are counted by address only). Past it, 429 <c>too_many_connections</c>.</summary>
    public int MaxConnectionsPerUser { get; set; }

    /// <summary>
    /// Sessions from one client address on this node at once. Past it, 429
    /// <c>too_many_connections</c>. Behind a proxy, configure forwarded headers so the address
    /// is the client's and not the proxy's.
    /// </summary>
    public int MaxConnectionsPerIp { get; set; }

    /// <summary>New sessions one client address may open per second, on average (a token bucket). Past it, 429 <c>rate_limited</c> with <c>Retry-After</c>.</summary>
    public double ConnectsPerSecondPerIp { get; set; }

    /// <summary>How many connects from one address may come at once before <see cref="ConnectsPerSecondPerIp"/> applies. Default: the rate, at least 1.</summary>
    public int ConnectBurstPerIp { get; set; }

    /// <summary>Publications one session may send per second, on average (a token bucket). Past it, the publish is refused with <c>rate_limited</c> and the session goes on.</summary>
    public double PublishesPerSecondPerSession { get; set; }

    /// <summary>Publications one signed-in user may send per second over all their sessions on this node. Past it, <c>rate_limited</c>.</summary>
    public double PublishesPerSecondPerUser { get; set; }

    /// <summary>How many publishes may come at once before the per-session and per-user rates apply. Default: the rate, at least 1.</summary>
    public int PublishBurst { get; set; }

    /// <summary>Subscribers one channel may have on this node. Past it, the subscribe is refused with <c>too_many_subscribers</c>.</summary>
    public int MaxSubscribersPerChannel { get; set; }
}
