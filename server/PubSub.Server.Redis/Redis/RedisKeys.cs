using StackExchange.Redis;

namespace PubSub.Redis;

/// <summary>
/// The names of everything the broker keeps in Redis (docs/architecture.md, "Redis broker"). The
/// channel or node name always comes last, so names that contain <c>:</c> cannot collide.
/// </summary>
internal sealed class RedisKeys(string prefix)
{
    /// <summary>Hash with the channel's epoch (<c>e</c>) and latest offset (<c>o</c>).</summary>
    public RedisKey Meta(string channel) => prefix + "meta:" + channel;

    /// <summary>Stream of the channel's retained publications; entry id <c>{offset}-0</c>.</summary>
    public RedisKey History(string channel) => prefix + "history:" + channel;

    /// <summary>Pub/sub channel that carries the channel's publications to subscribed nodes.</summary>
    public string PublicationsName(string channel) => prefix + "channel:" + channel;

    public RedisChannel Publications(string channel) => Literal(PublicationsName(channel));

    /// <summary>Pub/sub channel that a node listens on for node-to-node messages.</summary>
    public string NodeName(string nodeId) => prefix + "node:" + nodeId;

    public RedisChannel Node(string nodeId) => Literal(NodeName(nodeId));

    /// <summary>String key that exists while the node is alive (renewed by its heartbeat).</summary>
    public RedisKey Alive(string nodeId) => prefix + "alive:" + nodeId;

    // Literal, always: channel names may contain '*' or '?', which must not turn a SUBSCRIBE into a PSUBSCRIBE.
    private static RedisChannel Literal(string name) => new(name, RedisChannel.PatternMode.Literal);
}
