using StackExchange.Redis;

namespace PubSub.Redis;

/// <summary>
/// Presence in Redis (docs/architecture.md, "Redis broker"): per channel, an index of the nodes
/// holding members (scored by expiry, renewed by each node's heartbeat), a members hash per node
/// and a users hash, all in the channel's slot. A node that dies stops renewing; its entry expires
/// after <see cref="RedisBrokerOptions.NodeTimeout"/>, and the next script on the channel sweeps
/// its members out, announcing their leaves.
/// </summary>
internal sealed partial class RedisBroker
{
    // This node's members, per channel: what the heartbeat renews, and adds again when Redis lost them.
    private readonly Dictionary<string, Dictionary<string, (PresenceMember Member, bool Announce)>> _presence = new(StringComparer.Ordinal);
    private readonly Lock _presenceGate = new();
    private string? _nodeId;

    public async ValueTask AddPresenceAsync(string channel, PresenceMember member, bool announce, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(member);
        ThrowIfNotStarted();
        lock (_presenceGate)
        {
            if (!_presence.TryGetValue(channel, out var members))
            {
                _presence[channel] = members = new(StringComparer.Ordinal);
            }
            members[member.Session] = (member, announce);
        }
        await IssueAddPresence(channel, member, announce, cancellationToken);
    }

    public async ValueTask RemovePresenceAsync(string channel, string session, bool announce, CancellationToken cancellationToken)
    {
        lock (_presenceGate)
        {
            if (_presence.TryGetValue(channel, out var members) && members.Remove(session) && members.Count == 0)
            {
                _presence.Remove(channel);
            }
        }
        var shard = ShardFor(channel);
        await _commands.RunAsync(
            shard,
            RedisScripts.RemovePresence,
            PresenceKeys(channel),
            [RedisKeys.PresenceNode(NodeId), _keys.Publications(channel), PublishCommandOf(shard, channel), session, announce ? 1 : 0],
            channel,
            "remove a member from the presence of",
            cancellationToken);
    }

    public async ValueTask<PresencePage> ReadPresenceAsync(string channel, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var parts = await RunReadPresenceAsync(channel, limit, cancellationToken);
        var members = new List<PresenceMember>((parts.Length - 2) / 2);
        for (var i = 2; i + 1 < parts.Length; i += 2)
        {
            var session = (string)parts[i]!;
            if (PresenceCodec.TryReadValue(session, (byte[])parts[i + 1]!, out var member))
            {
                members.Add(member!);
            }
        }
        return new PresencePage(members, (long)parts[0] > members.Count);
    }

    public async ValueTask<PresenceStats> ReadPresenceStatsAsync(string channel, CancellationToken cancellationToken)
    {
        var parts = await RunReadPresenceAsync(channel, limit: 0, cancellationToken);
        return new PresenceStats((int)(long)parts[0], (int)(long)parts[1]);
    }

    /// <summary>
    /// The heartbeat's part: renews this node's entry in every channel it holds members of (one
    /// script per channel, pipelined), sweeping dead nodes' members on the way, and adds again
    /// the members Redis no longer holds.
    /// </summary>
    private async Task RenewPresenceAsync()
    {
        List<(string Channel, List<(PresenceMember Member, bool Announce)> Members)> held;
        lock (_presenceGate)
        {
            held = [.. _presence.Select(pair => (pair.Key, pair.Value.Values.ToList()))];
        }
        if (held.Count == 0)
        {
            return;
        }
        var node = RedisKeys.PresenceNode(NodeId);
        var timeout = Milliseconds(_options.NodeTimeout);
        var renewals = held.Select(async entry =>
        {
            try
            {
                var shard = ShardFor(entry.Channel);
                var result = await _commands.RunAsync(
                    shard,
                    RedisScripts.RenewPresence,
                    PresenceKeys(entry.Channel),
                    [node, _keys.PresenceMembersPrefix, RedisKeys.PresenceMembersSuffix(entry.Channel), _keys.Publications(entry.Channel), PublishCommandOf(shard, entry.Channel), timeout],
                    entry.Channel,
                    "renew this node's presence in",
                    _stopping.Token);
                if ((long)result < entry.Members.Count)
                {
                    // Swept while this node could not renew: what it still holds goes back (a
                    // member Redis has is left as it is).
                    await Task.WhenAll(entry.Members.Select(m => IssueAddPresence(entry.Channel, m.Member, m.Announce, _stopping.Token)));
                }
            }
            catch (Exception e) when (e is PubSubException or OperationCanceledException)
            {
                Log.PresenceRenewFailed(_logger, entry.Channel, e.Message);
            }
        });
        await Task.WhenAll(renewals);
    }

    /// <summary>Removes every member this node holds, when it stops; their leaves are announced as their channels say.</summary>
    private async Task DropPresenceAsync(CancellationToken cancellationToken)
    {
        List<string> channels;
        lock (_presenceGate)
        {
            channels = [.. _presence.Keys];
            _presence.Clear();
        }
        var node = RedisKeys.PresenceNode(NodeId);
        try
        {
            await Task.WhenAll(channels.Select(channel =>
            {
                var shard = ShardFor(channel);
                return _commands.RunAsync(shard, RedisScripts.DropPresence, PresenceKeys(channel),
                    [node, _keys.Publications(channel), PublishCommandOf(shard, channel)], channel, "remove this node's presence from", cancellationToken);
            }));
        }
        catch (Exception e) when (e is PubSubException or OperationCanceledException)
        {
            // Then its entries expire as a dead node's do.
            Log.PresenceRenewFailed(_logger, "*", e.Message);
        }
    }

    private Task<RedisResult> IssueAddPresence(string channel, PresenceMember member, bool announce, CancellationToken cancellationToken)
    {
        var shard = ShardFor(channel);
        return _commands.RunAsync(
            shard,
            RedisScripts.AddPresence,
            PresenceKeys(channel),
            [
                RedisKeys.PresenceNode(NodeId), _keys.PresenceMembersPrefix, RedisKeys.PresenceMembersSuffix(channel),
                _keys.Publications(channel), PublishCommandOf(shard, channel), Milliseconds(_options.NodeTimeout),
                member.Session, PresenceCodec.Value(member, announce), announce ? 1 : 0,
            ],
            channel,
            "add a member to the presence of",
            cancellationToken);
    }

    private async Task<RedisResult[]> RunReadPresenceAsync(string channel, int limit, CancellationToken cancellationToken)
    {
        var shard = ShardFor(channel);
        var result = await _commands.RunAsync(
            shard,
            RedisScripts.ReadPresence,
            [_keys.PresenceIndex(channel), _keys.PresenceUsers(channel)],
            [_keys.PresenceMembersPrefix, RedisKeys.PresenceMembersSuffix(channel), _keys.Publications(channel), PublishCommandOf(shard, channel), limit],
            channel,
            "read the presence of",
            cancellationToken);
        return (RedisResult[])result!;
    }

    private RedisKey[] PresenceKeys(string channel) =>
        [_keys.PresenceIndex(channel), _keys.PresenceUsers(channel), _keys.PresenceMembers(channel, NodeId)];

    private string NodeId => _nodeId ?? throw new InvalidOperationException("The Redis broker is not started.");

    /// <summary>A join or leave from a channel's pub/sub channel, handed to the node as it arrives.</summary>
    void IFeedSource.DeliverPresence(PresenceEvent presence)
    {
        try
        {
            _handler?.OnPresence(presence);
        }
        catch (Exception e)
        {
            Log.HandlerFailed(_logger, presence.Channel, e);
        }
    }
}
