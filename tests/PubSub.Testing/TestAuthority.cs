using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace PubSub.Testing;

/// <summary>
/// An OpenID Connect authority as small as JWT bearer needs (Entra ID, Auth0 or Keycloak in
/// production): Kestrel on 127.0.0.1 serving the discovery document and the JSON Web Key Set of
/// its RSA signing keys, and minting tokens with the newest of them. <see cref="Rotate"/>
/// publishes a new key and signs with it from then on, as an authority rotating its keys does.
/// </summary>
public sealed class TestAuthority : IAsyncDisposable
{
    public const string Audience = "pubsub";

    private readonly WebApplication _app;
    private readonly List<RsaSecurityKey> _keys = [];
    private readonly Lock _gate = new();
    private TaskCompletionSource _keysFetched = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _keyFetches;
    private int _stopped;
    private TaskCompletionSource? _hanging;
    private readonly CancellationTokenSource _stopping = new();

    private TestAuthority(WebApplication app) => _app = app;

    /// <summary>Its base address, which is also the issuer its tokens and discovery document name.</summary>
    public string Issuer { get; private set; } = "";

    /// <summary>How many times the key set was fetched.</summary>
    public int KeyFetches => Volatile.Read(ref _keyFetches);

    public static async Task<TestAuthority> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var authority = new TestAuthority(app);
        authority.AddKey();
        // While it hangs, every request to it waits, as an authority that accepts connections and
        // never answers would keep them.
        app.Use(async (context, next) =>
        {
            if (Volatile.Read(ref authority._hanging) is { } reached)
            {
                reached.TrySetResult();
                using var either = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, authority._stopping.Token);
                await Task.Delay(Timeout.Infinite, either.Token).ContinueWith(static _ => { }, TaskScheduler.Default);
                return;
            }
            await next(context);
        });
        app.MapGet("/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = authority.Issuer,
            ["jwks_uri"] = authority.Issuer + ".well-known/jwks.json",
            ["id_token_signing_alg_values_supported"] = new[] { SecurityAlgorithms.RsaSha256 },
        }));
        app.MapGet("/.well-known/jwks.json", authority.KeySet);
        await app.StartAsync();
        authority.Issuer = app.Urls.Single().TrimEnd('/') + "/";
        return authority;
    }

    /// <summary>A token for <paramref name="user"/> (its <c>sub</c>), signed with the newest key unless another is given.</summary>
    public string Mint(string user, SecurityKey? key = null, string? issuer = null)
    {
        RsaSecurityKey newest;
        lock (_gate)
        {
            newest = _keys[^1];
        }
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer ?? Issuer,
            Audience = Audience,
            Subject = new ClaimsIdentity([new Claim("sub", user)]),
            Expires = DateTime.UtcNow.AddHours(1),
            SigningCredentials = new SigningCredentials(key ?? newest, SecurityAlgorithms.RsaSha256),
        });
    }

    /// <summary>From now on it accepts requests and never answers them; the task completes when one arrives.</summary>
    public Task Hang()
    {
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _hanging, reached);
        return reached.Task;
    }

    /// <summary>A key of the right kind that this authority never publishes.</summary>
    public static RsaSecurityKey ForeignKey() => new(RSA.Create(2048)) { KeyId = "foreign" };

    /// <summary>Publishes a new key and signs with it from now on; the task completes when the key set has been fetched since.</summary>
    public Task Rotate()
    {
        lock (_gate)
        {
            _keysFetched = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            AddKey();
            return _keysFetched.Task;
        }
    }

    private void AddKey()
    {
        lock (_gate)
        {
            _keys.Add(new RsaSecurityKey(RSA.Create(2048)) { KeyId = $"key-{_keys.Count + 1}" });
        }
    }

    private IResult KeySet()
    {
        object[] keys;
        TaskCompletionSource fetched;
        lock (_gate)
        {
            keys = [.. _keys.Select(key =>
            {
                var parameters = key.Rsa.ExportParameters(includePrivateParameters: false);
                return new Dictionary<string, string>
                {
                    ["kty"] = "RSA",
                    ["use"] = "sig",
                    ["alg"] = SecurityAlgorithms.RsaSha256,
                    ["kid"] = key.KeyId,
                    ["n"] = Base64UrlEncoder.Encode(parameters.Modulus),
                    ["e"] = Base64UrlEncoder.Encode(parameters.Exponent),
                };
            })];
            fetched = _keysFetched;
        }
        Interlocked.Increment(ref _keyFetches);
        // Whoever waits learns the Host asked again; the Host itself is still waiting for this response.
        fetched.TrySetResult();
        return Results.Json(new { keys });
    }

    /// <summary>Stops it: from then on its port refuses connections, as an authority that is down does. Safe to call twice.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            // Lets the requests it holds end, so that stopping does not wait for them.
            await _stopping.CancelAsync();
            await _app.DisposeAsync();
        }
    }
}
