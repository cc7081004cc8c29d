using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace PubSub.Testing;

/// <summary>
/// A signing key for the Host's JWT bearer authentication, the environment that configures a Host
/// with it (as README.md shows), and tokens minted with it the way README.md's example mints them.
/// </summary>
public sealed class TestTokens
{
    public const string Issuer = "pubsub-tests";
    public const string Audience = "pubsub";

    public byte[] Key { get; } = NewKey();

    public static byte[] NewKey() => RandomNumberGenerator.GetBytes(32);

    /// <summary>The Host's environment variables for token authentication with <see cref="Key"/>.</summary>
    public Dictionary<string, string> HostEnvironment() => new()
    {
        ["Authentication__Schemes__Bearer__ValidIssuer"] = Issuer,
        ["Authentication__Schemes__Bearer__ValidAudiences__0"] = Audience,
        ["Authentication__Schemes__Bearer__SigningKeys__0__Issuer"] = Issuer,
        ["Authentication__Schemes__Bearer__SigningKeys__0__Value"] = Convert.ToBase64String(Key),
    };

    /// <summary>A token for <paramref name="user"/> (its <c>sub</c>), valid for an hour unless told otherwise.</summary>
    public string Mint(string user, DateTime? expires = null, DateTime? notBefore = null, byte[]? key = null, string audience = Audience, string issuer = Issuer) =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            Subject = new ClaimsIdentity([new Claim("sub", user)]),
            NotBefore = notBefore ?? DateTime.UtcNow.AddMinutes(-1),
            Expires = expires ?? DateTime.UtcNow.AddHours(1),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(key ?? Key), SecurityAlgorithms.HmacSha256),
        });
}
