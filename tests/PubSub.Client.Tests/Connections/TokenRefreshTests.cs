using System.Net.Http.Json;
using PubSub.Client.Tests.Support;

namespace PubSub.Client.Tests.Connections;

/// <summary>
/// A session opened with a short-lived token, on the Host with token authentication as an
/// operator configures it: when the token expires the node closes the session with 4004, and the
/// client asks its token provider for a new one, reconnects with it and recovers what was
/// published meanwhile, once and in order, on every transport.
/// </summary>
public sealed class TokenRefreshTests
{
    private const string ApiKey = "token-refresh-key";

    [Theory, AllTransports]
    public async Task When_the_token_expires_the_client_fetches_a_new_one_and_recovers(PubSubTransport transport)
    {
        var tokens = new TestTokens();
        var environment = tokens.HostEnvironment();
        environment["PubSub__ApiKey"] = ApiKey;
        environment["PubSub__Channels__2__Template"] = "users/{id}/notifications";
        environment["PubSub__Channels__2__UserParameter"] = "id";
        environment["PubSub__Channels__2__HistorySize"] = "100";
        environment["PubSub__Channels__2__HistoryTtl"] = "00:05:00";
        await using var host = await HostProcess.StartAsync(environment);
        using var api = new HttpClient { BaseAddress = host.BaseUri, Timeout = Timeouts.Default };
        api.DefaultRequestHeaders.Add("X-API-Key", ApiKey);

        var issued = new List<DateTime>();
        await using var client = ClientHarness.Create(new Uri(host.BaseUri, "pubsub"), transport, o => o.AccessTokenProvider = _ =>
        {
            lock (issued)
            {
                // The first token lives three seconds; the next ones an hour.
                var expires = issued.Count == 0 ? DateTime.UtcNow.AddSeconds(3) : DateTime.UtcNow.AddHours(1);
                issued.Add(expires);
                return ValueTask.FromResult<string?>(tokens.Mint("alice", expires));
            }
        });
        var events = new ClientEvents(client);
        await client.ConnectAsync().WithTimeout("connect with the first token");
        var firstSession = client.SessionId;
        await using var subscription = await client.SubscribeAsync("users/alice/notifications");
        await PublishAsync(api, 1);

        var reconnecting = await events.NextAsync(PubSubClientState.Reconnecting);
        await PublishAsync(api, 2);
        await events.NextAsync(PubSubClientState.Connected);
        await PublishAsync(api, 3);
        var received = await subscription.ReadAsync(3);

        Assert.Equal(4004, Assert.IsType<PubSubDisconnectedException>(reconnecting.Error).DisconnectCode);
        Assert.Equal([1, 2, 3], received.Select(m => m.N()));
        Assert.Equal([1L, 2L, 3L], received.Select(m => m.Offset));
        Assert.NotEqual(firstSession, client.SessionId);
        lock (issued)
        {
            Assert.True(issued.Count >= 2, $"the token provider was called {issued.Count} time(s)");
        }
    }

    private static async Task PublishAsync(HttpClient api, int n)
    {
        using var response = await api.PostAsJsonAsync("api/publish", new { channel = "users/alice/notifications", data = new { n } });
        response.EnsureSuccessStatusCode();
    }
}
