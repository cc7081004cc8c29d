using System.Net;
using System.Text.Json;

namespace PubSub.Server.Tests.Host;

/// <summary>
/// The Host's token authentication as an operator configures it, with no code: JWT bearer from
/// environment variables (issuer, audience, a symmetric key), a user-limited channel from
/// configuration, tokens minted as README.md shows. Every bad token is refused with 401 and a
/// message that says what is wrong, and the sessions already open go on.
/// </summary>
public sealed class TokenAuthenticationTests(TokenAuthenticationTests.SignedHost fixture) : IClassFixture<TokenAuthenticationTests.SignedHost>
{
    [Fact]
    public async Task A_token_in_the_query_opens_a_WebSocket_session_as_its_user_who_reads_only_their_own_channel()
    {
        await using var alice = await fixture.ConnectAsync(fixture.Token("alice"));

        await alice.SubscribeAsync("users/alice/notifications");
        var intrusion = await alice.RequestAsync(new() { ["type"] = "subscribe", ["channel"] = "users/bob/notifications" });
        await fixture.PublishAsync("users/alice/notifications", 1);

        Assert.Equal("forbidden", intrusion.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("'users/bob/notifications' belongs to another user.", intrusion.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal(1, (await alice.NextOfTypeAsync("message")).GetProperty("data").GetInt32());
    }

    [Fact]
    public async Task A_token_in_the_Authorization_header_opens_an_SSE_session_and_an_anonymous_one_is_refused_the_user_channel()
    {
        var token = fixture.Token("carol");
        await using var carol = await SseClient.ConnectAsync(fixture.Host.BaseUri, "?channel=users/carol/notifications",
            configure: r => r.Headers.Authorization = new("Bearer", token));
        var (status, body, _) = await SseClient.TryConnectAsync(fixture.Host.BaseUri, "?channel=users/carol/notifications");

        Assert.Equal("subscribed", (await carol.NextOfTypeAsync("subscribed")).Type);
        Assert.Equal(HttpStatusCode.Forbidden, status);
        AssertError(body, "forbidden", "'users/carol/notifications' is for signed-in users only.");
    }

    public static TheoryData<string, string> BadTokens => new()
    {
        { "expired", "The access token expired at " },
        { "not yet valid", "The access token is not valid before " },
        { "wrongly signed", "The access token's signature is not valid." },
        { "another audience", "The access token is for another audience." },
        { "another issuer", "The access token is from an issuer this server does not trust." },
    };

    [Theory, MemberData(nameof(BadTokens))]
    public async Task A_bad_token_is_refused_with_401_and_why_on_every_transport_and_other_sessions_go_on(string kind, string message)
    {
        var token = kind switch
        {
            // Past JWT bearer's five minutes of clock skew.
            "expired" => fixture.Token("dave", expires: DateTime.UtcNow.AddMinutes(-10), notBefore: DateTime.UtcNow.AddMinutes(-20)),
            "not yet valid" => fixture.Token("dave", notBefore: DateTime.UtcNow.AddMinutes(10), expires: DateTime.UtcNow.AddMinutes(20)),
            "wrongly signed" => fixture.Token("dave", key: TestTokens.NewKey()),
            "another audience" => fixture.Token("dave", audience: "someone-else"),
            "another issuer" => fixture.Token("dave", issuer: "someone-else"),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        await using var bystander = await fixture.ConnectAsync(fixture.Token("erin"));
        await bystander.SubscribeAsync("users/erin/notifications");

        var (status, headers) = await WsClient.RefusedUpgradeAsync(fixture.WebSocketUri(token));
        var (sseStatus, body, _) = await SseClient.TryConnectAsync(fixture.Host.BaseUri, $"?channel=chat/a&access_token={token}");
        await fixture.PublishAsync("users/erin/notifications", 7);

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Contains("invalid_token", headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, sseStatus);
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal("unauthorized", error.GetProperty("code").GetString());
        Assert.StartsWith(message, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(7, (await bystander.NextOfTypeAsync("message")).GetProperty("data").GetInt32());
    }

    [Fact]
    public async Task A_token_in_both_the_header_and_the_query_is_refused()
    {
        var token = fixture.Token("frank");

        var (status, body, _) = await SseClient.TryConnectAsync(fixture.Host.BaseUri, $"?channel=chat/a&access_token={token}",
            configure: r => r.Headers.Authorization = new("Bearer", token));

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        AssertError(body, "unauthorized", "Send one access token, either in the Authorization header or in the 'access_token' parameter.");
    }

    [Fact]
    public async Task A_token_past_its_expiry_but_within_the_clock_skew_is_refused_rather_than_admitted_and_closed_at_once()
    {
        var token = fixture.Token("gina", expires: DateTime.UtcNow.AddMinutes(-1), notBefore: DateTime.UtcNow.AddMinutes(-5));

        var (status, body, _) = await SseClient.TryConnectAsync(fixture.Host.BaseUri, $"?channel=chat/a&access_token={token}");

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.StartsWith("The credentials expired at ", JsonDocument.Parse(body).RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_session_is_closed_with_4004_when_the_token_it_was_opened_with_expires()
    {
        await using var henry = await fixture.ConnectAsync(fixture.Token("henry", expires: DateTime.UtcNow.AddSeconds(3)));
        await henry.SubscribeAsync("users/henry/notifications");

        var disconnect = await henry.NextOfTypeAsync("disconnect", "ping");

        Assert.Equal(4004, disconnect.GetProperty("code").GetInt32());
        Assert.True(disconnect.GetProperty("reconnect").GetBoolean());
    }

    private static void AssertError(string body, string code, string message)
    {
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.Equal(message, error.GetProperty("message").GetString());
    }

    /// <summary>One Host with token authentication, configured as README.md shows.</summary>
    public sealed class SignedHost : IAsyncLifetime
    {
        private const string ApiKey = "token-tests-key";

        private readonly TestTokens _tokens = new();
        private HttpClient _api = null!;

        public HostProcess Host { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            var environment = _tokens.HostEnvironment();
            environment["PubSub__ApiKey"] = ApiKey;
            environment["PubSub__Channels__2__Template"] = "users/{id}/notifications";
            environment["PubSub__Channels__2__UserParameter"] = "id";
            Host = await HostProcess.StartAsync(environment);
            _api = new HttpClient { BaseAddress = Host.BaseUri, Timeout = Timeouts.Default };
            _api.DefaultRequestHeaders.Add("X-API-Key", ApiKey);
        }

        public async Task DisposeAsync()
        {
            _api.Dispose();
            await Host.DisposeAsync();
        }

        public Uri WebSocketUri(string token) => new($"ws://127.0.0.1:{Host.Port}/pubsub/ws?access_token={token}");

        public Task<WsClient> ConnectAsync(string token) => WsClient.ConnectAsync(WebSocketUri(token));

        public string Token(string user, DateTime? expires = null, DateTime? notBefore = null, byte[]? key = null, string audience = TestTokens.Audience, string issuer = TestTokens.Issuer) =>
            _tokens.Mint(user, expires, notBefore, key, audience, issuer);

        public async Task PublishAsync(string channel, int data)
        {
            using var response = await _api.PostAsync("api/publish", new StringContent(JsonSerializer.Serialize(new { channel, data }), System.Text.Encoding.UTF8, "application/json"));
            response.EnsureSuccessStatusCode();
        }
    }
}
