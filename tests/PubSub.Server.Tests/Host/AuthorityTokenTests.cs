using System.Net;
using System.Text.Json;

namespace PubSub.Server.Tests.Host;

/// <summary>
/// The Host's token authentication against an OpenID Connect authority, configured as
/// docs/deployment.md shows: the Host learns the authority's signing keys from its discovery
/// document and key set, with no key in its own configuration, and learns a rotated key when a
/// token names one it has not seen.
/// </summary>
public sealed class AuthorityTokenTests(AuthorityTokenTests.AuthorityHost fixture) : IClassFixture<AuthorityTokenTests.AuthorityHost>
{
    [Fact]
    public async Task A_token_signed_by_the_authority_opens_a_session_as_its_user_with_keys_from_its_key_set()
    {
        await using var alice = await fixture.ConnectAsync(fixture.Authority.Mint("alice"));

        await alice.SubscribeAsync("users/alice/notifications");
        var intrusion = await alice.RequestAsync(new() { ["type"] = "subscribe", ["channel"] = "users/bob/notifications" });
        await fixture.PublishAsync("users/alice/notifications", 1);

        Assert.Equal("forbidden", intrusion.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(1, (await alice.NextOfTypeAsync("message")).GetProperty("data").GetInt32());
        Assert.True(fixture.Authority.KeyFetches >= 1, "the Host never fetched the authority's key set");
    }

    public static TheoryData<string, string> BadTokens => new()
    {
        { "a key the authority does not publish", "The access token's signature is not valid." },
        { "another issuer, the authority's key", "The access token is from an issuer this server does not trust." },
    };

    [Theory, MemberData(nameof(BadTokens))]
    public async Task A_token_the_authority_did_not_issue_is_refused_with_401_and_why_and_other_sessions_go_on(string kind, string message)
    {
        var token = kind switch
        {
            "a key the authority does not publish" => fixture.Authority.Mint("mallory", key: TestAuthority.ForeignKey()),
            "another issuer, the authority's key" => fixture.Authority.Mint("mallory", issuer: "https://elsewhere.example/"),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        await using var bystander = await fixture.ConnectAsync(fixture.Authority.Mint("erin"));
        await bystander.SubscribeAsync("users/erin/notifications");

        var (status, body, _) = await SseClient.TryConnectAsync(fixture.Host.BaseUri, $"?channel=chat/a&access_token={token}");
        await fixture.PublishAsync("users/erin/notifications", 7);

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal("unauthorized", error.GetProperty("code").GetString());
        Assert.Equal(message, error.GetProperty("message").GetString());
        Assert.Equal(7, (await bystander.NextOfTypeAsync("message")).GetProperty("data").GetInt32());
    }

    // The two below start a Host of their own: JWT bearer fetches the key set again for an unknown
    // key at most once per RefreshInterval (5 min), and the shared Host's refusals of foreign keys
    // may have spent that already.

    [Fact]
    public Task After_the_authority_rotates_its_key_a_token_signed_with_the_new_one_is_accepted_at_once_and_open_sessions_go_on() =>
        WithOwnHostAsync(async node =>
        {
            await using var frank = await node.ConnectAsync(node.Authority.Mint("frank"));
            await frank.SubscribeAsync("users/frank/notifications");
            var fetchedAgain = node.Authority.Rotate();

            // The token names a key the Host has not seen: JWT bearer refuses it and fetches the key
            // set again in the background; the Host's AuthorityKeyRollover holds the request until
            // the fetched set names the key and validates with it, so the client is not refused
            // first (a refusal, 401, is final for both clients).
            await using var grace = await node.ConnectAsync(node.Authority.Mint("grace"));
            await grace.SubscribeAsync("users/grace/notifications");
            await node.PublishAsync("users/grace/notifications", 2);
            await node.PublishAsync("users/frank/notifications", 3);

            Assert.True(fetchedAgain.IsCompleted, "the Host accepted a key it had not fetched");
            Assert.Equal(2, (await grace.NextOfTypeAsync("message")).GetProperty("data").GetInt32());
            Assert.Equal(3, (await frank.NextOfTypeAsync("message")).GetProperty("data").GetInt32());
        });

    [Fact]
    public Task While_the_authority_is_down_its_tokens_pass_with_the_keys_fetched_before_and_an_unknown_key_is_refused_with_401() =>
        WithOwnHostAsync(async node =>
        {
            var known = node.Authority.Mint("ivan");
            await node.FetchKeysAsync(known);
            var unknown = node.Authority.Mint("judy", key: TestAuthority.ForeignKey());
            await node.Authority.DisposeAsync();

            // The Host tries the key set again for the unknown key, finds the authority refusing
            // connections, and keeps the keys it had.
            var (status, body, _) = await SseClient.TryConnectAsync(node.Host.BaseUri, $"?channel=chat/a&access_token={unknown}");
            await using var ivan = await node.ConnectAsync(known);
            await ivan.SubscribeAsync("users/ivan/notifications");
            await node.PublishAsync("users/ivan/notifications", 4);

            Assert.Equal(HttpStatusCode.Unauthorized, status);
            Assert.Equal("The access token's signature is not valid.", JsonDocument.Parse(body).RootElement.GetProperty("error").GetProperty("message").GetString());
            Assert.Equal(4, (await ivan.NextOfTypeAsync("message")).GetProperty("data").GetInt32());
        });

    [Fact]
    public Task While_the_authority_hangs_a_token_with_an_unknown_key_waits_at_most_its_bound_and_no_other_token_waits_with_it() =>
        WithOwnHostAsync(async node =>
        {
            var known = node.Authority.Mint("kim");
            await node.FetchKeysAsync(known);
            var reached = node.Authority.Hang();

            // The unknown key makes JWT bearer fetch the key set, from an authority that never
            // answers (its backchannel waits a minute); AuthorityKeyRollover holds this request
            // for at most 3 s of that.
            var refused = SseClient.TryConnectAsync(node.Host.BaseUri, $"?channel=chat/a&access_token={node.Authority.Mint("leo", key: TestAuthority.ForeignKey())}");
            await reached.WithTimeout("the Host to ask the hanging authority");
            // Meanwhile a token the Host can check goes through: nothing waits on the fetch but the
            // request that needs it (IdentityModel's blocking mode would hold this one a minute).
            await using var kim = await node.ConnectAsync(known);
            await kim.SubscribeAsync("users/kim/notifications");
            await node.PublishAsync("users/kim/notifications", 5);
            var (status, body, _) = await refused.WithTimeout("the unknown key's refusal");

            Assert.Equal(5, (await kim.NextOfTypeAsync("message")).GetProperty("data").GetInt32());
            Assert.Equal(HttpStatusCode.Unauthorized, status);
            Assert.Equal("The access token's signature is not valid.", JsonDocument.Parse(body).RootElement.GetProperty("error").GetProperty("message").GetString());
        });

    private static async Task WithOwnHostAsync(Func<AuthorityHost, Task> test)
    {
        var node = new AuthorityHost();
        await node.InitializeAsync();
        try
        {
            await test(node);
        }
        finally
        {
            await node.DisposeAsync();
        }
    }

    /// <summary>A Host whose token settings are the authority's address and the audience to expect: the issuer comes from the discovery document.</summary>
    public sealed class AuthorityHost : IAsyncLifetime
    {
        private const string ApiKey = "authority-tests-key";

        private HttpClient _api = null!;

        public TestAuthority Authority { get; private set; } = null!;
        public HostProcess Host { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Authority = await TestAuthority.StartAsync();
            Host = await HostProcess.StartAsync(new Dictionary<string, string>
            {
                ["Authentication__Schemes__Bearer__Authority"] = Authority.Issuer,
                // The authority here is plain http on loopback; a real one is https, which JWT bearer requires by default.
                ["Authentication__Schemes__Bearer__RequireHttpsMetadata"] = "false",
                ["Authentication__Schemes__Bearer__ValidAudiences__0"] = TestAuthority.Audience,
                ["PubSub__ApiKey"] = ApiKey,
                ["PubSub__Channels__2__Template"] = "users/{id}/notifications",
                ["PubSub__Channels__2__UserParameter"] = "id",
            });
            _api = new HttpClient { BaseAddress = Host.BaseUri, Timeout = Timeouts.Default };
            _api.DefaultRequestHeaders.Add("X-API-Key", ApiKey);
        }

        public async Task DisposeAsync()
        {
            _api.Dispose();
            await Host.DisposeAsync();
            await Authority.DisposeAsync();
        }

        public Uri WebSocketUri(string token) => new($"ws://127.0.0.1:{Host.Port}/pubsub/ws?access_token={token}");

        public Task<WsClient> ConnectAsync(string token) => WsClient.ConnectAsync(WebSocketUri(token));

        /// <summary>Opens and closes a session with <paramref name="token"/>: the Host has the authority's keys afterwards.</summary>
        public async Task FetchKeysAsync(string token)
        {
            await using var session = await ConnectAsync(token);
        }

        public async Task PublishAsync(string channel, int data)
        {
            using var response = await _api.PostAsync("api/publish", new StringContent(JsonSerializer.Serialize(new { channel, data }), System.Text.Encoding.UTF8, "application/json"));
            response.EnsureSuccessStatusCode();
        }
    }
}
