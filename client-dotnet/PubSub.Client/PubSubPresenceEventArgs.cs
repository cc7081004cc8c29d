using System.Text.Json;

namespace PubSub.Client;

/// <summary>
/// The arguments of <see cref="PubSubSubscription.Joined"/> and <see cref="PubSubSubscription.Left"/>:
/// another client's subscription to the channel began or ended (docs/protocol.md, section 2.9).
/// </summary>
public sealed class PubSubPresenceEventArgs : EventArgs
{
    internal PubSubPresenceEventArgs(string channel, PubSubPresenceMember member)
    {
        Channel = channel;
        Member = member;
    }

    /// <summary>The channel.</summary>
    public string Channel { get; }

    /// <summary>The member that joined or left.</summary>
    public PubSubPresenceMember Member { get; }

    /// <summary>The session that joined or left.</summary>
    public string Session => Member.Session;

    /// <summary>Its user; null for an anonymous session.</summary>
    public string? User => Member.User;

    /// <summary>What the server's connect hook attached to that session; null when none.</summary>
    public JsonElement? Info => Member.Info;
}
