using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;

namespace PubSub.Server.Tests.Transports;

/// <summary>
/// /send and /poll for sessions that do not exist, are malformed, belong to someone else, or get
/// too much: each gets a clear error, and the session is unharmed.
/// </summary>
public sealed class SessionAccessTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync() =>
        _node = await TestNode.StartAsync(o => o.MaxMessageSize = 1024, host: h => h.Services.AddTestAuthentication());

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private async Task<(HttpStatusCode Status, string Body)> PostAsync(string path, string body, string? user = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "text/plain") };
        if (user is not null)
        {
            request.Headers.Add(TestAuthenticationHandler.UserHeader, user);
        }
        using var response = await _node.Http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Send_and_poll_for_an_unknown_session_get_404_session_not_found_that_says_to_reconnect()
    {
        var unknown = $"{_node.NodeId}.AAAAAAAAAAAAAAAAAAAAAA";

        var send = await PostAsync($"pubsub/send?session={unknown}", "{\"type\":\"ping\"}");
        using var poll = await _node.Http.GetAsync($"pubsub/poll?session={unknown}&ack=0");

        Assert.Equal(HttpStatusCode.NotFound, send.Status);
        Assert.Contains("session_not_found", send.Body, StringComparison.Ordinal);
        Assert.Contains("reconnect", send.Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, poll.StatusCode);
    }

    [Theory]
    [InlineData("")]
    [InlineData("nodot")]
    [InlineData("n1.short")]
    [InlineData("bad-node.AAAAAAAAAAAAAAAAAAAAAA")]
    public async Task A_malformed_session_id_is_a_bad_request(string session)
    {
        var send = await PostAsync($"pubsub/send?session={Uri.EscapeDataString(session)}", "{\"type\":\"ping\"}");

        Assert.Equal(HttpStatusCode.BadRequest, send.Status);
        Assert.Contains("bad_request", send.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_session_on_a_node_that_does_not_exist_gets_404_at_once()
    {
        var send = await PostAsync("pubsub/send?session=nghost1.AAAAAAAAAAAAAAAAAAAAAA", "{\"type\":\"ping\"}");

        Assert.Equal(HttpStatusCode.NotFound, send.Status);
        Assert.Contains("session_not_found", send.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_over_the_limit_gets_413_and_the_session_goes_on()
    {
        using var poll = await PollClient.OpenAsync(_node.BaseUri);

        var tooLarge = await PostAsync($"pubsub/send?session={poll.SessionId}", new string(' ', 2000));
        await poll.SendAsync(new { type = "ping", id = 1 });
        var reply = await poll.NextAsync();

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.Status);
        Assert.Contains("message_too_large", tooLarge.Body, StringComparison.Ordinal);
        Assert.Equal(1, reply.GetProperty("id").GetInt64());
    }

    [Fact]
    public async Task Send_and_poll_from_another_identity_are_forbidden_and_the_owner_is_unaffected()
    {
        using var alice = await PollClient.OpenAsync(_node.BaseUri, configure: c => c.Headers[TestAuthenticationHandler.UserHeader] = "alice");

        var bobSends = await PostAsync($"pubsub/send?session={alice.SessionId}", "{\"type\":\"subscribe\",\"channel\":\"chat/x\"}", user: "bob");
        var anonymousSends = await PostAsync($"pubsub/send?session={alice.SessionId}", "{\"type\":\"ping\"}");
        using var bobPolls = new HttpRequestMessage(HttpMethod.Get, $"pubsub/poll?session={alice.SessionId}&ack=1");
        bobPolls.Headers.Add(TestAuthenticationHandler.UserHeader, "bob");
        using var bobPoll = await _node.Http.SendAsync(bobPolls);
        await alice.SendAsync(new { type = "ping", id = 7 });
        var reply = await alice.NextAsync();

        Assert.Equal(HttpStatusCode.Forbidden, bobSends.Status);
        Assert.Contains("another identity", bobSends.Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, anonymousSends.Status);
        Assert.Equal(HttpStatusCode.Forbidden, bobPoll.StatusCode);
        Assert.Equal(7, reply.GetProperty("id").GetInt64());
        Assert.Equal(1, alice.Connected.GetProperty("session").GetString()!.Count(c => c == '.'));
    }

    [Fact]
    public async Task A_websocket_session_cannot_be_used_through_send_and_an_sse_session_cannot_be_polled()
    {
        await using var ws = await _node.ConnectAsync();
        await using var sse = await SseClient.ConnectAsync(_node.BaseUri);

        var send = await PostAsync($"pubsub/send?session={ws.SessionId}", "{\"type\":\"ping\"}");
        using var poll = await _node.Http.GetAsync($"pubsub/poll?session={sse.SessionId}&ack=0");

        Assert.Equal(HttpStatusCode.BadRequest, send.Status);
        Assert.Equal(HttpStatusCode.BadRequest, poll.StatusCode);
        await ws.PingAsync();
    }

    [Fact]
    public async Task Session_ids_are_unguessable_128_bit_values()
    {
        var ids = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            using var poll = await PollClient.OpenAsync(_node.BaseUri);
            ids.Add(poll.SessionId);
        }

        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.All(ids, id =>
        {
            var random = id[(id.IndexOf('.', StringComparison.Ordinal) + 1)..];
            var bytes = Convert.FromBase64String(random.Replace('-', '+').Replace('_', '/') + "==");
            Assert.Equal(16, bytes.Length);
        });
    }
}
