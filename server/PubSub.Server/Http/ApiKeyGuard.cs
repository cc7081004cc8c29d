using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace PubSub.Http;

/// <summary>
/// The rule of the server API and of the operator's endpoints (<c>/metrics</c>, the dashboard):
/// with <see cref="PubSubOptions.ApiKey"/> set, a caller sends it in <c>X-API-Key</c> or as
/// <c>Authorization: Bearer</c> (what Prometheus sends), compared in constant time; without a key,
/// only an authorization policy on the endpoint opens it, so nothing is open by accident.
/// </summary>
internal sealed class ApiKeyGuard(IOptions<PubSubOptions> options)
{
    public const string ApiKeyHeader = "X-API-Key";

    private readonly byte[]? _keyHash = string.IsNullOrEmpty(options.Value.ApiKey) ? null : Hash(options.Value.ApiKey);

    /// <summary>True when the caller may go on; otherwise the error response is written.</summary>
    public async Task<bool> AuthorizeAsync(HttpContext context, string closedMessage)
    {
        if (_keyHash is not null)
        {
            // Hashing first makes the comparison constant-time in the key's length too.
            if (!CryptographicOperations.FixedTimeEquals(Hash(Offered(context.Request)), _keyHash))
            {
                await HttpErrors.WriteAsync(context, PubSubErrorCodes.Unauthorized, $"Send the API key in the '{ApiKeyHeader}' header, or as 'Authorization: Bearer <key>'.");
                return false;
            }
            return true;
        }
        // No key: only an authorization policy on the endpoint (already enforced by the
        // authorization middleware before we got here) opens it.
        if (context.GetEndpoint()?.Metadata.GetMetadata<IAuthorizeData>() is null)
        {
            await HttpErrors.WriteAsync(context, PubSubErrorCodes.Forbidden, closedMessage);
            return false;
        }
        return true;
    }

    private static string Offered(HttpRequest request)
    {
        var key = request.Headers[ApiKeyHeader].ToString();
        if (key.Length > 0)
        {
            return key;
        }
        var authorization = request.Headers.Authorization.ToString();
        return authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization["Bearer ".Length..].Trim() : "";
    }

    private static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}
