using System.Net;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace PubSub.Server.Tests.Transports;

/// <summary>
/// A session is bound to the identity that opened it: its authentication type, which claim names
/// the user (name identifier or name) and the claim's value. Another identity gets 403 on /send and
/// /poll; a user with neither claim cannot open or use the transports whose sessions span
/// requests, but may use a WebSocket.
/// </summary>
public sealed class SessionBindingTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync() => _node = await TestNode.StartAsync(host: h => h.Services.AddTestAuthentication());

    public async Task DisposeAsync() => await _node.DisposeAsync();

    /// <summary>The test scheme's headers for a user; <paramref name="claims"/> <c>id</c>, <c>name</c>, <c>none</c> or both (null).</summary>
    private static Dictionary<string, string> As(string? user, string? claims = null, string? authenticationType = null)
    {
        var headers = new Dictionary<string, string>();
        if (user is not null)
        {
            headers[TestAuthenticationHandler.UserHeader] = user;
        }
        if (claims is not null)
        {
            headers[TestAuthenticationHandler.ClaimsHeader] = claims;
        }
        if (authenticationType is not null)
        {
            headers[TestAuthenticationHandler.AuthenticationTypeHeader] = authenticationType;
        }
        return headers;
    }

    private Task<PollClient> OpenPollAsync(Dictionary<string, string> identity) =>
        PollClient.OpenAsync(_node.BaseUri, configure: c =>
        {
            foreach (var (name, value) in identity)
            {
                c.Headers[name] = value;
            }
        });

    private async Task<(HttpStatusCode Status, string Body)> SendAsync(HttpMethod method, string path, Dictionary<string, string> identity)
    {
        using var request = new HttpRequestMessage(method, path);
        if (method == HttpMethod.Post)
        {
            request.Content = new StringContent("""{"type":"ping","id":1}""", Encoding.UTF8, "text/plain");
        }
        foreach (var (name, value) in identity)
        {
            request.Headers.Add(name, value);
        }
        using var response = await _node.Http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>/send and /poll for the session as <paramref name="identity"/>: both must be refused with 403.</summary>
    private async Task AssertRefusedAsync(PollClient owner, Dictionary<string, string> identity)
    {
        var send = await SendAsync(HttpMethod.Post, $"pubsub/send?session={Uri.EscapeDataString(owner.SessionId)}", identity);
        var poll = await SendAsync(HttpMethod.Get, $"pubsub/poll?session={Uri.EscapeDataString(owner.SessionId)}&ack={owner.Received}", identity);

        Assert.Equal(HttpStatusCode.Forbidden, send.Status);
        Assert.Contains("forbidden", send.Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, poll.Status);
        // The owner is unaffected.
        await owner.SendAsync(new { type = "ping", id = 7 });
        Assert.Equal(7, (await owner.NextAsync()).GetProperty("id").GetInt64());
    }

    [Fact]
    public async Task The_same_id_under_another_authentication_type_is_another_user()
    {
        using var alice = await OpenPollAsync(As("alice", authenticationType: "Cookies"));

        await AssertRefusedAsync(alice, As("alice", authenticationType: "Bearer"));
    }

    [Fact]
    public async Task An_id_and_a_name_with_the_same_value_are_different_users()
    {
        using var byId = await OpenPollAsync(As("alice", claims: "id"));
        using var byName = await OpenPollAsync(As("alice", claims: "name"));

        await AssertRefusedAsync(byId, As("alice", claims: "name"));
        await AssertRefusedAsync(byName, As("alice", claims: "id"));
    }

    [Fact]
    public async Task A_user_with_neither_claim_cannot_open_or_use_sse_or_polling_and_is_not_taken_for_anonymous()
    {
        using var anonymous = await OpenPollAsync(As(null));
        var nameless = As("ghost", claims: "none");

        var poll = await SendAsync(HttpMethod.Get, "pubsub/poll?channel=chat/a", nameless);
        var sse = await SendAsync(HttpMethod.Get, "pubsub/sse?channel=chat/a", nameless);

        Assert.Equal(HttpStatusCode.Forbidden, poll.Status);
        var error = JsonSerializer.Deserialize<JsonElement>(poll.Body).GetProperty("error");
        Assert.Equal("forbidden", error.GetProperty("code").GetString());
        Assert.Contains("name identifier claim (ClaimTypes.NameIdentifier)", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("ClaimTypes.Name by default", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, sse.Status);
        Assert.Equal(poll.Body, sse.Body);
        // Nor is it taken for the anonymous user: the anonymous session is not its session.
        await AssertRefusedAsync(anonymous, nameless);
        Assert.Equal(1, _node.SessionCount);
    }

    [Fact]
    public async Task A_user_with_neither_claim_may_use_a_websocket()
    {
        await using var client = await WsClient.ConnectAsync(_node.WebSocketUri, configure: o =>
        {
            o.SetRequestHeader(TestAuthenticationHandler.UserHeader, "ghost");
            o.SetRequestHeader(TestAuthenticationHandler.ClaimsHeader, "none");
        });

        await client.SubscribeAsync("chat/ws");
        await client.PublishAsync("chat/ws", new { n = 1 });

        Assert.Equal(1, (await client.NextOfTypeAsync("message")).GetProperty("offset").GetInt64());
        var send = await SendAsync(HttpMethod.Post, $"pubsub/send?session={Uri.EscapeDataString(client.SessionId)}", As("ghost", claims: "none"));
        Assert.Equal(HttpStatusCode.Forbidden, send.Status);
    }

    [Fact]
    public void Keys_keep_the_authentication_type_the_claim_and_the_value_apart()
    {
        static ClaimsPrincipal User(string? authenticationType, params (string Type, string Value)[] claims) =>
            new(new ClaimsIdentity(claims.Select(c => new Claim(c.Type, c.Value)), authenticationType));

        string?[] keys =
        [
            PubSub.Sessions.UserKey.Of(User("A", (ClaimTypes.NameIdentifier, "1"))),
            PubSub.Sessions.UserKey.Of(User("A", (ClaimTypes.Name, "1"))),
            PubSub.Sessions.UserKey.Of(User("B", (ClaimTypes.NameIdentifier, "1"))),
            PubSub.Sessions.UserKey.Of(User("A:id", (ClaimTypes.NameIdentifier, "1"))),
            PubSub.Sessions.UserKey.Of(User("A", (ClaimTypes.NameIdentifier, "id:1"))),
        ];

        Assert.Equal(keys.Length, keys.Distinct().Count());
        Assert.DoesNotContain("", keys);
        Assert.Equal("", PubSub.Sessions.UserKey.Of(User(null, (ClaimTypes.NameIdentifier, "1"))));
        Assert.Null(PubSub.Sessions.UserKey.Of(User("A", (ClaimTypes.Email, "a@example.com"))));
        // The name identifier wins over the name.
        Assert.Equal(keys[0], PubSub.Sessions.UserKey.Of(User("A", (ClaimTypes.Name, "someone"), (ClaimTypes.NameIdentifier, "1"))));
    }
}
