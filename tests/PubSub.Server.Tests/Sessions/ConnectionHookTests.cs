using System.Net;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;

namespace PubSub.Server.Tests.Sessions;

/// <summary>
/// The node's connection hooks: OnConnect sees the user and the request, refuses a client with an
/// HTTP error before any session exists, attaches connection information and subscribes the
/// session to channels from the server; OnDisconnect hears once of every session that ended, why,
/// and what was attached.
/// </summary>
public sealed class ConnectionHookTests
{
    private const string RefusedUser = "mallory";

    [Theory]
    [MemberData(nameof(RawSession.Transports), MemberType = typeof(RawSession))]
    public async Task Channels_the_connect_hook_subscribes_a_session_to_reach_the_client_without_asking(string transport)
    {
        await using var node = await StartAsync(context =>
        {
            context.Subscribe($"news/{context.User.Identity!.Name}");
            context.Subscribe("news/everyone");
        });
        await using var session = await RawSession.OpenAsync(node.BaseUri, transport, "alice");

        var first = await session.NextOfTypeAsync("subscribed");
        var second = await session.NextOfTypeAsync("subscribed");
        await node.Publisher.PublishAsync("news/alice", new { n = 1 });
        var message = await session.NextOfTypeAsync("message");

        Assert.Equal(["news/alice", "news/everyone"], new[] { first, second }.Select(f => f.GetProperty("channel").GetString()).Order());
        Assert.Equal("news/alice", message.GetProperty("channel").GetString());
        Assert.Equal(1, message.GetProperty("data").GetProperty("n").GetInt32());
    }

    [Fact]
    public async Task A_client_the_connect_hook_refuses_gets_its_code_as_an_http_error_on_every_transport_and_leaves_no_session()
    {
        await using var node = await StartAsync(context =>
        {
            if (context.User.Identity!.Name == RefusedUser)
            {
                context.Reject("banned", $"{RefusedUser} is banned until tomorrow.");
            }
        });
        void AsRefused(HttpRequestMessage request) => request.Headers.Add(TestAuthenticationHandler.UserHeader, RefusedUser);

        var (wsStatus, _) = await WsClient.RefusedUpgradeAsync(node.WebSocketUri, o => o.SetRequestHeader(TestAuthenticationHandler.UserHeader, RefusedUser));
        var (sseStatus, sseBody, _) = await SseClient.TryConnectAsync(node.BaseUri, "?channel=chat/a", configure: AsRefused);
        using var poll = new HttpRequestMessage(HttpMethod.Get, "pubsub/poll");
        AsRefused(poll);
        using var pollResponse = await node.Http.SendAsync(poll);
        var pollBody = await pollResponse.Content.ReadAsStringAsync();
        await using var alice = await RawSession.OpenAsync(node.BaseUri, "websocket", "alice");

        // A code the protocol does not know is the application's: 403, as a rejection.
        Assert.Equal(HttpStatusCode.Forbidden, wsStatus);
        Assert.Equal(HttpStatusCode.Forbidden, sseStatus);
        Assert.Equal(HttpStatusCode.Forbidden, pollResponse.StatusCode);
        foreach (var body in new[] { sseBody, pollBody })
        {
            var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
            Assert.Equal("banned", error.GetProperty("code").GetString());
            Assert.Equal($"{RefusedUser} is banned until tomorrow.", error.GetProperty("message").GetString());
        }
        Assert.Equal(1, node.SessionCount);
    }

    [Fact]
    public async Task A_connect_hook_that_throws_or_names_an_unknown_channel_refuses_with_500_internal_and_is_logged_once()
    {
        var logs = new LogRecorder();
        await using var node = await StartAsync(context =>
        {
            switch (context.User.Identity!.Name)
            {
                case "throws":
                    throw new InvalidOperationException("The user store is down.");
                case "unknown":
                    context.Subscribe("nowhere/at-all");
                    break;
            }
        }, logs);

        var (throwsStatus, throwsBody, _) = await SseClient.TryConnectAsync(node.BaseUri, configure: r => r.Headers.Add(TestAuthenticationHandler.UserHeader, "throws"));
        var (unknownStatus, unknownBody, _) = await SseClient.TryConnectAsync(node.BaseUri, configure: r => r.Headers.Add(TestAuthenticationHandler.UserHeader, "unknown"));

        Assert.Equal(HttpStatusCode.InternalServerError, throwsStatus);
        Assert.Equal(HttpStatusCode.InternalServerError, unknownStatus);
        foreach (var body in new[] { throwsBody, unknownBody })
        {
            Assert.Equal("internal", JsonDocument.Parse(body).RootElement.GetProperty("error").GetProperty("code").GetString());
            Assert.DoesNotContain("user store", body, StringComparison.Ordinal);
        }
        Assert.Single(logs.Errors, e => e.Message.Contains("OnConnect hook failed", StringComparison.Ordinal) && e.Exception is InvalidOperationException);
        Assert.Single(logs.Errors, e => e.Message.Contains("'nowhere/at-all'", StringComparison.Ordinal));
        Assert.Equal(0, node.SessionCount);
    }

    [Fact]
    public async Task The_disconnect_hook_hears_once_of_each_session_with_its_code_or_that_the_client_went_away_and_what_was_attached()
    {
        var ended = Channel.CreateUnbounded<DisconnectContext>();
        await using var node = await TestNode.StartAsync(
            o =>
            {
                o.OnConnect = context =>
                {
                    context.ConnectionInfo = Payload.FromValue(new { name = context.User.Identity!.Name!.ToUpperInvariant() });
                    return ValueTask.CompletedTask;
                };
                o.OnDisconnect = context =>
                {
                    ended.Writer.TryWrite(context);
                    return ValueTask.CompletedTask;
                };
            },
            host: h => h.Services.AddTestAuthentication());
        var kicked = await RawSession.OpenAsync(node.BaseUri, "websocket", "alice");
        var leaving = await RawSession.OpenAsync(node.BaseUri, "websocket", "bob");

        node.CloseSession(kicked.SessionId, 4500, "Banned.");
        var first = await ended.Reader.ReadAsync().AsTask().WithTimeout("the disconnect hook for the kicked session");
        await leaving.DisposeAsync();
        var second = await ended.Reader.ReadAsync().AsTask().WithTimeout("the disconnect hook for the session that left");
        await kicked.DisposeAsync();

        Assert.Equal((kicked.SessionId, 4500, "Banned."), (first.SessionId, first.Code, first.Reason));
        Assert.Equal("""{"name":"ALICE"}""", first.ConnectionInfo!.Value.ToString());
        Assert.Equal((leaving.SessionId, (int?)null, (string?)null), (second.SessionId, second.Code, second.Reason));
        Assert.Equal("""{"name":"BOB"}""", second.ConnectionInfo!.Value.ToString());
        Assert.Equal("websocket", second.Transport);
        Assert.False(ended.Reader.TryRead(out _));
    }

    private static Task<TestNode> StartAsync(Action<ConnectContext> onConnect, LogRecorder? logs = null) =>
        TestNode.StartAsync(
            o => o.OnConnect = context =>
            {
                onConnect(context);
                return ValueTask.CompletedTask;
            },
            host: h =>
            {
                h.Services.AddTestAuthentication();
                logs?.AddTo(h.Logging);
            });
}
