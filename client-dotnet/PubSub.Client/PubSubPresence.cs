using System.Text.Json;

namespace PubSub.Client;

/// <summary>Who is subscribed to a channel, on every node (<see cref="PubSubClient.PresenceAsync"/>).</summary>
public sealed class PubSubPresence
{
    internal PubSubPresence(IReadOnlyList<PubSubPresenceMember> members, bool truncated)
    {
        Members = members;
        Truncated = truncated;
    }

    /// <summary>The members, in no particular order; at most 1,000.</summary>
    public IReadOnlyList<PubSubPresenceMember> Members { get; }

    /// <summary>Whether the channel has more members than listed; count them with <see cref="PubSubClient.PresenceStatsAsync"/>.</summary>
    public bool Truncated { get; }
}

/// <summary>One subscription in a channel's presence: a session, its user, and what the application attached to it.</summary>
public sealed class PubSubPresenceMember
{
    internal PubSubPresenceMember(string session, string? user, JsonElement? info)
    {
        Session = session;
        User = user;
        Info = info;
    }

    /// <summary>The session's id (one session is one member per channel).</summary>
    public string Session { get; }

    /// <summary>The user's id; null for an anonymous session.</summary>
    public string? User { get; }

    /// <summary>The JSON the server's connect hook attached to the session (<c>ConnectionInfo</c>); null when none.</summary>
    public JsonElement? Info { get; }
}

/// <summary>How many subscriptions a channel's presence holds and how many signed-in users they belong to (<see cref="PubSubClient.PresenceStatsAsync"/>).</summary>
public sealed class PubSubPresenceStats
{
    internal PubSubPresenceStats(int clients, int users)
    {
        Clients = clients;
        Users = users;
    }

    /// <summary>The members: subscriptions, anonymous ones included.</summary>
    public int Clients { get; }

    /// <summary>The distinct signed-in users among them.</summary>
    public int Users { get; }
}
