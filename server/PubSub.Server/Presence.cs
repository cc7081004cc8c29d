namespace PubSub;

/// <summary>
/// One subscription in a channel's presence: the session, the user it is bound to, and the
/// connection info the application attached to the session (<see cref="ConnectContext.ConnectionInfo"/>).
/// </summary>
/// <param name="Session">The session's id.</param>
/// <param name="User">The user's id (the name identifier claim, else the name), or null for an anonymous session.</param>
/// <param name="Info">JSON the application attached to the session when it connected, or null.</param>
public sealed record PresenceMember(string Session, string? User, Payload? Info)
{
    /// <summary>The most members a presence read lists, and its default: <see cref="PresencePage.Truncated"/> says when there were more.</summary>
    public const int MaxListed = 1000;
}

/// <summary>A channel's presence as read: at most the limit asked for, in no particular order.</summary>
/// <param name="Members">The members listed.</param>
/// <param name="Truncated">True when the channel has more members than were listed.</param>
public sealed record PresencePage(IReadOnlyList<PresenceMember> Members, bool Truncated);

/// <summary>How many are present in a channel, without listing them.</summary>
/// <param name="Clients">Subscriptions (one per session) in the channel's presence.</param>
/// <param name="Users">Distinct signed-in users among them; anonymous sessions count in <paramref name="Clients"/> only.</param>
public readonly record struct PresenceStats(int Clients, int Users);

/// <summary>A member that joined or left a channel whose template announces it (<see cref="ChannelOptions.JoinLeave"/>).</summary>
/// <param name="Channel">The channel.</param>
/// <param name="Joined">True for a join, false for a leave.</param>
/// <param name="Member">Who joined or left.</param>
public sealed record PresenceEvent(string Channel, bool Joined, PresenceMember Member);
