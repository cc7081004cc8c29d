using System.Text;

namespace PubSub.Redis;

/// <summary>
/// The names of everything the broker keeps in Redis (docs/architecture.md, "Redis broker").
/// </summary>
/// <remarks>
/// Every key and pub/sub channel of one channel ends in the channel's name as a hash tag,
/// <c>{name}</c>, so in a Redis Cluster they all live in the channel's slot: each script touches
/// one slot, and the sharded pub/sub channel is served by the shard that runs the script. The name
/// is escaped (<c>%</c>, <c>{</c> and <c>}</c> as <c>%25</c>, <c>%7B</c>, <c>%7D</c>) so that a
/// brace in it cannot end the tag early and steer the channel into another slot, and two names
/// never share a key. A node's keys carry its id the same way. Nothing else in a name is special,
/// and the tag comes last, so names that contain <c>:</c> cannot collide either.
/// </remarks>
internal sealed class RedisKeys(string prefix)
{
    /// <summary>Hash with the channel's epoch (<c>e</c>) and latest offset (<c>o</c>).</summary>
    public string Meta(string channel) => prefix + "meta:" + Tag(channel);

    /// <summary>Stream of the channel's retained publications; entry id <c>{offset}-0</c>.</summary>
    public string History(string channel) => prefix + "history:" + Tag(channel);

    /// <summary>Pub/sub channel that carries the channel's publications to subscribed nodes.</summary>
    public string Publications(string channel) => prefix + "channel:" + Tag(channel);

    /// <summary>Pub/sub channel that a node listens on for node-to-node messages.</summary>
    public string Node(string nodeId) => prefix + "node:" + Tag(nodeId);

    /// <summary>String key that exists while the node is alive (renewed by its heartbeat).</summary>
    public string Alive(string nodeId) => prefix + "alive:" + Tag(nodeId);

    /// <summary>
    /// String key that holds an idempotency key's first publish (<c>{offset}:{epoch}</c>) for its
    /// window; in the channel's slot, after the key escaped as a tag is, so only the channel's tag counts.
    /// </summary>
    public string Once(string channel, string key) => prefix + "once:" + Tag(key)[1..^1] + ":" + Tag(channel);

    /// <summary>
    /// Sorted set of the nodes that hold members of the channel's presence, each (as
    /// <see cref="PresenceNode"/> writes it) scored by when its entry expires (Unix ms, Redis's
    /// clock); renewed by the node's heartbeat.
    /// </summary>
    public string PresenceIndex(string channel) => prefix + "presence:" + Tag(channel);

    /// <summary>Hash of the channel's members that one node holds: session id to <see cref="PresenceCodec"/>'s value.</summary>
    public string PresenceMembers(string channel, string nodeId) => PresenceMembersPrefix + PresenceNode(nodeId) + PresenceMembersSuffix(channel);

    /// <summary>What <see cref="PresenceMembers"/> starts with, before the node.</summary>
    public string PresenceMembersPrefix => prefix + "presence:";

    /// <summary>What <see cref="PresenceMembers"/> ends with, after the node: the channel's tag, so the hash lives in the channel's slot.</summary>
    public static string PresenceMembersSuffix(string channel) => ":" + Tag(channel);

    /// <summary>A node's id as the presence index holds it: escaped like a tag, so only the channel's tag counts in its members key.</summary>
    public static string PresenceNode(string nodeId) => Tag(nodeId)[1..^1];

    /// <summary>Hash of the channel's signed-in users, each to how many members it has.</summary>
    public string PresenceUsers(string channel) => prefix + "presence-users:" + Tag(channel);

    /// <summary>Sorted set of the live nodes' ids, scored by when each one's entry expires (Unix ms).</summary>
    public string Roster => prefix + "nodes";

    /// <summary>The name as a hash tag: <c>{name}</c>, escaped so it is the whole tag.</summary>
    internal static string Tag(string name)
    {
        if (name.AsSpan().IndexOfAny("%{}") < 0)
        {
            return "{" + name + "}";
        }
        var tag = new StringBuilder(name.Length + 8).Append('{');
        foreach (var c in name)
        {
            _ = c switch
            {
                '%' => tag.Append("%25"),
                '{' => tag.Append("%7B"),
                '}' => tag.Append("%7D"),
                _ => tag.Append(c),
            };
        }
        return tag.Append('}').ToString();
    }
}
