namespace PubSub;

/// <summary>Whose sessions a control operation acts on: every session of a user, or one session.</summary>
public readonly record struct SessionTarget
{
    private SessionTarget(string? userId, string? sessionId)
    {
        UserId = userId;
        SessionId = sessionId;
    }

    /// <summary>The user's id (name identifier, else name), when the target is a user.</summary>
    public string? UserId { get; }

    /// <summary>The session's id, when the target is one session.</summary>
    public string? SessionId { get; }

    /// <summary>Every session of the user with id <paramref name="userId"/>, on every node.</summary>
    public static SessionTarget User(string userId)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        return new(userId, null);
    }

    /// <summary>One session, on the node its id names.</summary>
    public static SessionTarget Session(string sessionId)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        return new(null, sessionId);
    }

    /// <inheritdoc/>
    public override string ToString() => UserId is not null ? $"user '{UserId}'" : $"session '{SessionId}'";
}

/// <summary>The disconnect codes an application may send (docs/protocol.md, section 2.8).</summary>
public static class PubSubDisconnectCodes
{
    /// <summary>4500: the application disconnected the client for good; it does not reconnect.</summary>
    public const int Application = 4500;

    /// <summary>The reason that goes with a code when none is given.</summary>
    public const string DefaultReason = "disconnected by the application";

    /// <summary>
    /// Whether an application may send <paramref name="code"/>: 4100–4499 (the client reconnects),
    /// 4500 and 4600–4999 (it does not). 4000–4099 and 4501–4599 are the server's own.
    /// </summary>
    public static bool IsApplicationCode(int code) => code is (>= 4100 and <= 4499) or Application or (>= 4600 and <= 4999);
}

/// <summary>What a control operation on sessions did.</summary>
/// <param name="Sessions">How many sessions it took effect on, over every node that answered.</param>
/// <param name="UnansweredNodes">Nodes that did not answer within <see cref="PubSubOptions.NodeRequestTimeout"/>: their part may or may not have been done.</param>
public sealed record ControlResult(int Sessions, IReadOnlyList<string> UnansweredNodes);

/// <summary>What a broadcast did, channel by channel, in the order asked.</summary>
public sealed record BroadcastResult(IReadOnlyList<BroadcastOutcome> Channels)
{
    /// <summary>The most channels one broadcast may name: 100.</summary>
    public const int MaxChannels = 100;
}

/// <summary>One channel of a broadcast: its publication's position, or why it was not published.</summary>
public sealed record BroadcastOutcome(string Channel, StreamPosition? Position, PubSubException? Error);

/// <summary>Active channels, and nodes that did not answer.</summary>
/// <param name="Channels">The channels, in ordinal order.</param>
/// <param name="Truncated">More channels matched than <see cref="MaxChannels"/>: narrow the pattern.</param>
/// <param name="UnansweredNodes">Nodes that did not answer in time; their subscribers are not counted.</param>
public sealed record ChannelsResult(IReadOnlyList<ChannelInfo> Channels, bool Truncated, IReadOnlyList<string> UnansweredNodes)
{
    /// <summary>The most channels one answer lists: 1,000.</summary>
    public const int MaxChannels = 1000;
}

/// <summary>A channel with subscribers, and how many it has on all nodes together.</summary>
public sealed record ChannelInfo(string Channel, int Subscribers);

/// <summary>The live nodes.</summary>
/// <param name="Nodes">The nodes that answered, ordered by id.</param>
/// <param name="UnansweredNodes">Live nodes (by the broker) that did not answer in time.</param>
public sealed record ClusterInfo(IReadOnlyList<NodeInfo> Nodes, IReadOnlyList<string> UnansweredNodes);

/// <summary>One node as it describes itself.</summary>
/// <param name="NodeId">Its id, which prefixes its sessions' ids.</param>
/// <param name="Uptime">How long since it started.</param>
/// <param name="Sessions">Its open sessions by transport (<c>websocket</c>, <c>sse</c>, <c>long-polling</c>).</param>
/// <param name="Channels">How many channels it holds a broker subscription for.</param>
public sealed record NodeInfo(string NodeId, TimeSpan Uptime, IReadOnlyDictionary<string, int> Sessions, int Channels);
