using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;

namespace PubSub.Channels;

/// <summary>
/// Who may use the channels of one template (subscribe, read history, publish): the rules a
/// template states in configuration (<see cref="ChannelOptions.RequireAuthenticatedUser"/>,
/// roles, claims, the user parameter) as one authorization policy, checked with the
/// application's <see cref="IAuthorizationService"/> beside its named policy.
/// </summary>
internal sealed class ChannelAccess
{
    private readonly AuthorizationPolicy? _rules;
    private readonly string? _userParameter;

    private ChannelAccess(AuthorizationPolicy? rules, string? userParameter)
    {
        _rules = rules;
        _userParameter = userParameter;
    }

    public static ChannelAccess Of(ChannelOptions options)
    {
        var restricted = options.RequireAuthenticatedUser || options.RequireRoles.Count > 0
            || options.RequireClaims.Count > 0 || options.UserParameter is not null;
        if (!restricted)
        {
            return new ChannelAccess(null, null);
        }
        var policy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser();
        if (options.RequireRoles.Count > 0)
        {
            policy.RequireRole(options.RequireRoles);
        }
        foreach (var (type, values) in options.RequireClaims)
        {
            policy.RequireClaim(type, values);
        }
        return new ChannelAccess(policy.Build(), options.UserParameter);
    }

    /// <summary>Throws <c>forbidden</c> unless the user may use the channel.</summary>
    public async ValueTask AuthorizeAsync(IAuthorizationService authorization, ClaimsPrincipal user, ChannelMatch match)
    {
        if (match.Options.AuthorizationPolicy is { } named
            && !(await authorization.AuthorizeAsync(user, match.Channel, named)).Succeeded)
        {
            // The resource is the channel name, for handlers that decide per channel.
            throw Forbidden($"Not authorized for '{match.Channel}'.");
        }
        if (_rules is null)
        {
            return;
        }
        if (!(await authorization.AuthorizeAsync(user, match.Channel, _rules)).Succeeded)
        {
            throw Forbidden(user.Identity?.IsAuthenticated == true
                ? $"Not authorized for '{match.Channel}': a role or claim the channel requires is missing."
                : $"'{match.Channel}' is for signed-in users only.");
        }
        if (_userParameter is not null && !string.Equals(match.RouteValues[_userParameter]?.ToString(), UserIdOf(user), StringComparison.Ordinal))
        {
            throw Forbidden($"'{match.Channel}' belongs to another user.");
        }
    }

    /// <summary>The id a user-limited channel is compared with: the name identifier (a token's <c>sub</c>), else the name.</summary>
    internal static string? UserIdOf(ClaimsPrincipal user) =>
        user.FindFirst(ClaimTypes.NameIdentifier)?.Value ?? user.Identity?.Name;

    private static PubSubException Forbidden(string message) => new(PubSubErrorCodes.Forbidden, message);
}
