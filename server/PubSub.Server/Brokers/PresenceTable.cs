namespace PubSub.Brokers;

/// <summary>
/// The memory backplane's presence: per channel, its members (each with the node that holds it)
/// and a count of sessions per signed-in user, so that stats need no walk. A node that detaches
/// takes its members with it, announcing the leaves of those that were announced.
/// </summary>
internal sealed class PresenceTable
{
    private readonly Dictionary<string, ChannelPresence> _channels = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>
    /// Adds the member; <paramref name="announce"/> is called with the join, under the table's
    /// lock (so events of one channel reach nodes in the order of the changes), when it is new.
    /// </summary>
    public void Add(string channel, string nodeId, PresenceMember member, bool announce, Action<PresenceEvent> deliver)
    {
        lock (_gate)
        {
            if (!_channels.TryGetValue(channel, out var presence))
            {
                _channels[channel] = presence = new ChannelPresence();
            }
            if (presence.Members.TryAdd(member.Session, new Entry(nodeId, member, announce)))
            {
                presence.CountUser(member.User, 1);
                if (announce)
                {
                    deliver(new PresenceEvent(channel, Joined: true, member));
                }
            }
        }
    }

    public void Remove(string channel, string session, bool announce, Action<PresenceEvent> deliver)
    {
        lock (_gate)
        {
            if (_channels.TryGetValue(channel, out var presence) && presence.Members.Remove(session, out var entry))
            {
                Forget(channel, presence, entry, announce, deliver);
            }
        }
    }

    /// <summary>Removes every member <paramref name="nodeId"/> holds, as if each were removed.</summary>
    public void RemoveNode(string nodeId, Action<PresenceEvent> deliver)
    {
        lock (_gate)
        {
            foreach (var (channel, presence) in _channels.ToList())
            {
                foreach (var (session, entry) in presence.Members.Where(pair => pair.Value.Node == nodeId).ToList())
                {
                    presence.Members.Remove(session);
                    Forget(channel, presence, entry, entry.Announce, deliver);
                }
            }
        }
    }

    public PresencePage Read(string channel, int limit)
    {
        lock (_gate)
        {
            if (!_channels.TryGetValue(channel, out var presence))
            {
                return new PresencePage([], false);
            }
            return new PresencePage([.. presence.Members.Values.Take(limit).Select(entry => entry.Member)], presence.Members.Count > limit);
        }
    }

    public PresenceStats Stats(string channel)
    {
        lock (_gate)
        {
            return _channels.TryGetValue(channel, out var presence) ? new PresenceStats(presence.Members.Count, presence.Users.Count) : default;
        }
    }

    private void Forget(string channel, ChannelPresence presence, Entry entry, bool announce, Action<PresenceEvent> deliver)
    {
        presence.CountUser(entry.Member.User, -1);
        if (presence.Members.Count == 0)
        {
            _channels.Remove(channel);
        }
        if (announce)
        {
            deliver(new PresenceEvent(channel, Joined: false, entry.Member));
        }
    }

    private readonly record struct Entry(string Node, PresenceMember Member, bool Announce);

    private sealed class ChannelPresence
    {
        public Dictionary<string, Entry> Members { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, int> Users { get; } = new(StringComparer.Ordinal);

        public void CountUser(string? user, int change)
        {
            if (user is null)
            {
                return;
            }
            var count = Users.GetValueOrDefault(user) + change;
            if (count > 0)
            {
                Users[user] = count;
            }
            else
            {
                Users.Remove(user);
            }
        }
    }
}
