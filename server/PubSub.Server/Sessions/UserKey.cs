using System.Globalization;
using System.Security.Claims;

namespace PubSub.Sessions;

/// <summary>The identity a session is bound to, compared with that of every later request for the session (<c>/send</c>, <c>/poll</c>).</summary>
internal static class UserKey
{
    /// <summary>Why a user without <see cref="Of"/> is refused the transports whose sessions span requests.</summary>
    public const string UnboundUserMessage =
        "The user is authenticated but has neither a name identifier claim (ClaimTypes.NameIdentifier) nor a name " +
        "(the identity's NameClaimType, ClaimTypes.Name by default), so a session cannot be bound to it; " +
        "add one of them to the identity, or connect over WebSocket.";

    /// <summary>
    /// For an authenticated user: the first authenticated identity's authentication type, which
    /// claim names the user (the name identifier, else the name) and that claim's value, so the
    /// same id under two schemes, or an id equal to a name, are different users. Empty for an
    /// anonymous user, which no authenticated user matches. Null for an authenticated user with
    /// neither claim, who cannot be told from another user of the same scheme: no session may be
    /// bound to it (see <see cref="UnboundUserMessage"/>).
    /// </summary>
    public static string? Of(ClaimsPrincipal user)
    {
        var authenticated = user.Identities.Where(identity => identity.IsAuthenticated).ToList();
        if (authenticated.Count == 0)
        {
            return "";
        }
        foreach (var identity in authenticated)
        {
            if (identity.FindFirst(ClaimTypes.NameIdentifier) is { } id)
            {
                return KeyOf(identity.AuthenticationType!, "id", id.Value);
            }
        }
        foreach (var identity in authenticated)
        {
            if (identity.FindFirst(identity.NameClaimType) is { } name)
            {
                return KeyOf(identity.AuthenticationType!, "name", name.Value);
            }
        }
        return null;

        // The length prefix keeps the parts apart whatever characters they hold.
        static string KeyOf(string authenticationType, string claim, string value) =>
            string.Create(CultureInfo.InvariantCulture, $"{authenticationType.Length}:{authenticationType}:{claim}:{value}");
    }
}
