namespace PubSub.Limits;

/// <summary>The values of the <c>pubsub.limit</c> attribute of <c>pubsub.limit.refusals</c>: which of <see cref="PubSubLimits"/> refused.</summary>
internal static class LimitNames
{
    public const string ConnectionsPerNode = "connections.node";
    public const string ConnectionsPerUser = "connections.user";
    public const string ConnectionsPerIp = "connections.ip";
    public const string ConnectsPerIp = "connects.ip";
    public const string PublishesPerSession = "publishes.session";
    public const string PublishesPerUser = "publishes.user";
    public const string SubscribersPerChannel = "subscribers.channel";
}
