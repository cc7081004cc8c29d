namespace PubSub;

/// <summary>
/// What a node needs from the store and bus it shares with the other nodes: publish with
/// history, node-level interest in channels, history reads, and messages between nodes.
/// <c>AddPubSub()</c>
/// registers an in-memory broker; the Redis broker replaces it for several nodes.
/// </summary>
/// <remarks>
/// Contract, checked by the broker specification tests that every implementation runs:
/// <list type="bullet">
/// <item>Offsets of a channel grow by exactly one per publication within an epoch.</item>
/// <item>Publishes to one channel started one after another take offsets in that order, even when
/// the caller does not await one before starting the next (a session pipelines a client's
/// publishes this way): a broker must fix a publish's place before its first await.</item>
/// <item><see cref="IBrokerHandler.OnPublication"/> is never called concurrently for one channel,
/// and calls for one channel come in offset order. A broker may repeat a publication (after a
/// reconnect); the node drops what it has already delivered.</item>
/// <item>Once <see cref="SubscribeAsync"/> has completed, every later publication of the channel
/// reaches the handler, so a history read made after it misses nothing.</item>
/// <item><see cref="SubscribeAsync"/> and <see cref="UnsubscribeAsync"/> for one channel take effect
/// in the order they were called.</item>
/// <item>A publish with an <see cref="IdempotencyKey"/> whose key the channel already took within
/// the key's window returns the position that first publish got, and publishes nothing, whichever
/// node made either: the check and the publish are one atomic step, so of two racing publishes with
/// one key exactly one is published. The key is the channel's own (another channel may use the
/// same key), and once its window is over a publish with it is new.</item>
/// <item><see cref="GetNodesAsync"/> lists every node that is started on the broker's backend
/// (this one too), and no longer one that stopped; one that died drops out within the broker's
/// node timeout.</item>
/// <item>Presence: a member added with <see cref="AddPresenceAsync"/> is listed by
/// <see cref="ReadPresenceAsync"/> and counted by <see cref="ReadPresenceStatsAsync"/> on every node
/// until it is removed, its node stops, or its node dies (then within the broker's node timeout).
/// Adding a session twice keeps one member; removing an absent one does nothing. With
/// <c>announce</c>, an add that made a new member and a remove that removed one deliver a
/// <see cref="PresenceEvent"/> to every node subscribed to the channel (not the offset stream:
/// events carry no offset and are not kept).</item>
/// <item>Failures to reach the backing store throw <see cref="PubSubException"/> with code
/// <see cref="PubSubErrorCodes.Unavailable"/>.</item>
/// </list>
/// </remarks>
public interface IBroker
{
    /// <summary>Connects the node: publications and node messages for it go to <paramref name="handler"/>.</summary>
    Task StartAsync(string nodeId, IBrokerHandler handler, CancellationToken cancellationToken);

    /// <summary>Disconnects the node; nothing reaches the handler afterwards.</summary>
    Task StopAsync(CancellationToken cancellationToken);

    /// <summary>Appends a publication to the channel's stream and history, and delivers it to every subscribed node.</summary>
    ValueTask<StreamPosition> PublishAsync(string channel, Payload data, HistoryOptions history, CancellationToken cancellationToken);

    /// <summary>
    /// Publishes as <see cref="PublishAsync(string, Payload, HistoryOptions, CancellationToken)"/>
    /// does, once per <paramref name="idempotency"/> key and channel within the key's window: a
    /// repeat returns the first publish's position and publishes nothing.
    /// </summary>
    ValueTask<StreamPosition> PublishAsync(string channel, Payload data, HistoryOptions history, IdempotencyKey idempotency, CancellationToken cancellationToken);

    /// <summary>The ids of the nodes alive on this broker's backend now, this one included.</summary>
    ValueTask<IReadOnlyList<string>> GetNodesAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Reads the channel's latest position and the retained publications after
    /// <see cref="HistoryQuery.SinceOffset"/>, oldest first. A channel that has no stream yet gets
    /// one (a new epoch at offset 0), so the answer always holds a usable position. Such an empty
    /// stream must be bounded and short-lived, since anyone who may read may name any channel:
    /// once it is gone, the next publish starts a new epoch.
    /// </summary>
    ValueTask<HistoryPage> ReadHistoryAsync(string channel, HistoryQuery query, CancellationToken cancellationToken);

    /// <summary>Starts delivering the channel's publications to this node.</summary>
    ValueTask SubscribeAsync(string channel, CancellationToken cancellationToken);

    /// <summary>Stops delivering the channel's publications to this node.</summary>
    ValueTask UnsubscribeAsync(string channel, CancellationToken cancellationToken);

    /// <summary>Sends a message to another node. Returns false when no such node is alive.</summary>
    ValueTask<bool> SendToNodeAsync(string nodeId, ReadOnlyMemory<byte> message, CancellationToken cancellationToken);

    /// <summary>Adds a session to the channel's presence, held by this node; with <paramref name="announce"/>, a new member's join reaches the channel's nodes.</summary>
    ValueTask AddPresenceAsync(string channel, PresenceMember member, bool announce, CancellationToken cancellationToken);

    /// <summary>Removes a session from the channel's presence; with <paramref name="announce"/>, its leave reaches the channel's nodes.</summary>
    ValueTask RemovePresenceAsync(string channel, string session, bool announce, CancellationToken cancellationToken);

    /// <summary>Lists at most <paramref name="limit"/> members of the channel's presence, on every node.</summary>
    ValueTask<PresencePage> ReadPresenceAsync(string channel, int limit, CancellationToken cancellationToken);

    /// <summary>Counts the members of the channel's presence and their distinct users, on every node.</summary>
    ValueTask<PresenceStats> ReadPresenceStatsAsync(string channel, CancellationToken cancellationToken);

    /// <summary>
    /// Why this node cannot use the broker now (its store is unreachable or does not answer), or
    /// null when it can. The readiness probe asks, so a load balancer sends no client to a node
    /// that would answer every request with <c>unavailable</c>. Must answer within a few seconds.
    /// </summary>
    ValueTask<string?> CheckAvailabilityAsync(CancellationToken cancellationToken) => ValueTask.FromResult<string?>(null);
}

/// <summary>Receives what a broker delivers to one node.</summary>
public interface IBrokerHandler
{
    /// <summary>A publication of a channel this node subscribed to. Must not block.</summary>
    void OnPublication(Publication publication);

    /// <summary>A message another node sent to this one. Must not block.</summary>
    void OnNodeMessage(ReadOnlyMemory<byte> message);

    /// <summary>A join or leave in a channel this node subscribed to. Must not block.</summary>
    void OnPresence(PresenceEvent presence);
}

/// <summary>How much history a channel keeps: at most <paramref name="Size"/> publications, each for at most <paramref name="Ttl"/>.</summary>
public readonly record struct HistoryOptions(int Size, TimeSpan Ttl)
{
    /// <summary>No history: publications still get offsets, but nothing can be recovered.</summary>
    public static HistoryOptions None => default;

    /// <summary>Whether anything is kept (a size and a TTL above zero).</summary>
    public bool IsEnabled => Size > 0 && Ttl > TimeSpan.Zero;
}

/// <summary>
/// Makes a publish idempotent: a publish with the same <paramref name="Key"/> to the same channel
/// within <paramref name="Window"/> of the first is not published again (see <see cref="IBroker"/>).
/// </summary>
public readonly record struct IdempotencyKey(string Key, TimeSpan Window)
{
    /// <summary>The longest key, in characters.</summary>
    public const int MaxLength = 128;

    /// <summary>Whether <paramref name="key"/> may be an idempotency key: 1 to <see cref="MaxLength"/> characters.</summary>
    public static bool IsValid(string? key) => key is { Length: > 0 and <= MaxLength };
}

/// <summary>
/// Which retained publications to read: those after <paramref name="SinceOffset"/> (all retained
/// ones when null), at most <paramref name="Limit"/> (0 reads only the latest position).
/// </summary>
public readonly record struct HistoryQuery(long? SinceOffset, int Limit);

/// <summary>The channel's latest position and the publications read, oldest first.</summary>
public sealed record HistoryPage(StreamPosition Latest, IReadOnlyList<Publication> Publications);
