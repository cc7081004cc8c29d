using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace PubSub.Host;

/// <summary>
/// Lets the first token signed with an authority's new key through. Such a token names a key the
/// node has not fetched: JWT bearer refuses it and asks for the key set again, and since
/// IdentityModel 8 that fetch runs in the background, so the token that caused it gets a 401, which
/// both clients take as final. Here the refusal waits, a bounded while, for the fetched key set and
/// validates the token once more against it. Nothing else waits: other requests keep the keys they
/// have, unlike IdentityModel's blocking mode, where every token waits out a hanging authority.
/// </summary>
internal static class AuthorityKeyRollover
{
    /// <summary>Long enough for a fetch from a healthy authority; a token the new keys do not sign is refused after it.</summary>
    private static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(3);

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>JWT bearer's <c>OnAuthenticationFailed</c>: succeeds the authentication if the refetched keys validate <paramref name="token"/>.</summary>
    public static async Task RetryWithRefetchedKeysAsync(AuthenticationFailedContext context, string? token)
    {
        if (context.Exception is not SecurityTokenSignatureKeyNotFoundException || token is null
            || context.Options.ConfigurationManager is not { } keys)
        {
            return;
        }
        var keyId = KeyIdOf(token);
        if (keyId is null)
        {
            return;
        }
        OpenIdConnectConfiguration? current;
        try
        {
            current = await WaitForKeyAsync(keys, keyId, context.HttpContext.RequestAborted);
        }
        catch (OperationCanceledException) when (context.HttpContext.RequestAborted.IsCancellationRequested)
        {
            // The client left while it waited: the refusal stands, and is nobody's error.
            return;
        }
        if (current is null)
        {
            return;
        }

        // As JWT bearer validates with a configuration it holds: its parameters, plus the
        // authority's keys and issuer.
        var parameters = context.Options.TokenValidationParameters.Clone();
        parameters.IssuerSigningKeys = [.. parameters.IssuerSigningKeys ?? [], .. current.SigningKeys];
        parameters.ValidIssuers = [.. parameters.ValidIssuers ?? [], current.Issuer];
        foreach (var handler in context.Options.TokenHandlers)
        {
            var result = await handler.ValidateTokenAsync(token, parameters);
            if (result.IsValid)
            {
                context.Principal = new ClaimsPrincipal(result.ClaimsIdentity);
                // As JWT bearer records it; a token without exp has none (DateTime.MinValue).
                if (result.SecurityToken.ValidTo != DateTime.MinValue)
                {
                    context.Properties.ExpiresUtc = result.SecurityToken.ValidTo;
                }
                context.Success();
                return;
            }
            context.Exception = result.Exception ?? context.Exception;
        }
    }

    /// <summary>The configuration once its key set names <paramref name="keyId"/>; null when that did not happen in time.</summary>
    private static async Task<OpenIdConnectConfiguration?> WaitForKeyAsync(IConfigurationManager<OpenIdConnectConfiguration> keys, string keyId, CancellationToken aborted)
    {
        var current = await keys.GetConfigurationAsync(aborted);
        // The manager offers no signal when its background fetch ends, so look again now and then.
        // The fetch may not even run: JWT bearer asks at most once per RefreshInterval.
        var started = TimeProvider.System.GetTimestamp();
        while (!Names(current.SigningKeys, keyId))
        {
            if (TimeProvider.System.GetElapsedTime(started) >= MaxWait)
            {
                return null;
            }
            await Task.Delay(PollInterval, aborted);
            current = await keys.GetConfigurationAsync(aborted);
        }
        return current;
    }

    private static bool Names(ICollection<SecurityKey> keys, string keyId) => keys.Any(key => key.KeyId == keyId);

    private static string? KeyIdOf(string token)
    {
        try
        {
            return new JsonWebToken(token).Kid is { Length: > 0 } kid ? kid : null;
        }
        catch (ArgumentException)
        {
            // Not a JWS at all: the handler's refusal stands.
            return null;
        }
    }
}
