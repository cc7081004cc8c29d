using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace PubSub.Server.Tests.Transports;

/// <summary>
/// Two nodes sharing a broker, as behind a load balancer without affinity: requests for a session
/// that land on the node that does not own it are forwarded to the owner and answered as usual.
/// </summary>
public sealed class ForwardingTests : IAsyncLifetime
{
    private readonly MemoryBackplane _backplane = new();
    private TestNode _owner = null!;
    private TestNode _other = null!;

    public async Task InitializeAsync()
    {
        _owner = await TestNode.StartAsync(services: b => b.AddMemoryBroker(_backplane), host: h => h.Services.AddTestAuthentication());
        _other = await TestNode.StartAsync(services: b => b.AddMemoryBroker(_backplane), host: h => h.Services.AddTestAuthentication());
    }

    public async Task DisposeAsync()
    {
        await _owner.DisposeAsync();
        await _other.DisposeAsync();
        _backplane.Dispose();
    }

    [Fact]
    public async Task A_long_polling_session_is_served_entirely_through_the_node_that_does_not_own_it()
    {
        using var forwarded = _other.CollectMetric<long>("pubsub.forward.request");
        using var poll = await PollClient.OpenAsync(_owner.BaseUri);
        poll.Via = _other.Http;

        Assert.Equal(HttpStatusCode.NoContent, await poll.SendAsync(new { type = "subscribe", id = 1, channel = "chat/fwd" }));
        var subscribed = await poll.NextAsync();
        Assert.Equal(HttpStatusCode.NoContent, await poll.SendAsync(new { type = "publish", id = 2, channel = "chat/fwd", data = new { n = 1 } }));
        await _other.Publisher.PublishAsync("chat/fwd", new { n = 2 });
        var messages = new List<System.Text.Json.JsonElement>();
        while (messages.Count < 2)
        {
            var frame = await poll.NextAsync();
            if (frame.GetProperty("type").GetString() == "reply")
            {
                Assert.Equal(2, frame.GetProperty("id").GetInt64());
                continue;
            }
            messages.Add(frame);
        }

        Assert.StartsWith(_owner.NodeId + ".", poll.SessionId, StringComparison.Ordinal);
        Assert.Equal(1, subscribed.GetProperty("id").GetInt64());
        Assert.Equal([1L, 2], messages.Select(m => m.GetProperty("offset").GetInt64()));
        Assert.Equal(2, forwarded.Sum(("pubsub.request", "send"), ("pubsub.outcome", "answered")));
        Assert.True(forwarded.Sum(("pubsub.request", "poll"), ("pubsub.outcome", "answered")) >= 2);
    }

    [Fact]
    public async Task A_held_poll_is_answered_through_the_forwarding_node_when_a_frame_arrives()
    {
        using var poll = await PollClient.OpenAsync(_owner.BaseUri, "?channel=news/held");
        await poll.NextOfTypeAsync("subscribed");
        poll.Via = _other.Http;

        var held = poll.PollAsync();
        await Timeouts.Until(() => _owner.IsPollHeld(poll.SessionId), "the owner to hold the forwarded poll");
        await _owner.Publisher.PublishAsync("news/held", new { n = 1 });

        Assert.Single(await held.WithTimeout("the forwarded poll"));
    }

    [Fact]
    public async Task A_lost_response_is_resent_whichever_node_the_next_poll_reaches()
    {
        using var poll = await PollClient.OpenAsync(_owner.BaseUri, "?channel=news/resend");
        await poll.NextOfTypeAsync("subscribed");
        await _owner.Publisher.PublishAsync("news/resend", new { n = 1 });

        var (_, lost) = await poll.RawPollAsync(poll.Received, via: _owner.Http);
        poll.Via = _other.Http;
        var resent = await poll.PollAsync();

        Assert.Contains("\"offset\":1", lost, StringComparison.Ordinal);
        Assert.Equal([1L], resent.Select(m => m.GetProperty("offset").GetInt64()));
    }

    [Fact]
    public async Task Frames_sent_to_another_node_for_an_sse_session_are_answered_on_its_stream()
    {
        await using var sse = await SseClient.ConnectAsync(_owner.BaseUri);

        var status = await SseClient.SendToAsync(_other.Http, sse.SessionId, [new { type = "subscribe", id = 5, channel = "chat/sse-fwd" }]);
        var reply = await sse.NextAsync();

        Assert.Equal(HttpStatusCode.NoContent, status);
        Assert.Equal(5, reply.Frame.GetProperty("id").GetInt64());
        Assert.True(reply.Frame.TryGetProperty("result", out _));
    }

    [Fact]
    public async Task The_identity_check_holds_through_forwarding()
    {
        using var poll = await PollClient.OpenAsync(_owner.BaseUri, configure: c => c.Headers[TestAuthenticationHandler.UserHeader] = "alice");

        var status = await SseClient.SendToAsync(_other.Http, poll.SessionId, [new { type = "ping" }],
            r => r.Headers.Add(TestAuthenticationHandler.UserHeader, "mallory"));
        poll.Via = _other.Http;
        var allowed = await poll.SendAsync(new { type = "ping", id = 1 });

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal(HttpStatusCode.NoContent, allowed);
    }

    [Fact]
    public async Task When_the_owner_is_gone_the_client_is_told_at_once_to_reconnect()
    {
        using var forwarded = _other.CollectMetric<long>("pubsub.forward.request");
        using var poll = await PollClient.OpenAsync(_owner.BaseUri);
        await _owner.DisposeAsync();

        var (status, body) = await poll.RawPollAsync(poll.Received, via: _other.Http);
        var send = await SseClient.SendToAsync(_other.Http, poll.SessionId, [new { type = "ping" }]);

        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("session_not_found", body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, send);
        Assert.Equal(2, forwarded.Sum(("pubsub.outcome", "owner_gone")));
        _owner = await TestNode.StartAsync(services: b => b.AddMemoryBroker(_backplane));
    }

    [Fact]
    public async Task A_forwarded_poll_that_is_lost_on_the_way_is_answered_empty_within_seconds_and_the_next_poll_delivers()
    {
        var broker = new LossyBroker(_backplane);
        await using var forwarder = await TestNode.StartAsync(services: b => b.Services.Replace(ServiceDescriptor.Singleton<IBroker>(broker)));
        using var poll = await PollClient.OpenAsync(_owner.BaseUri, "?channel=news/lost");
        await poll.NextOfTypeAsync("subscribed");

        // As when the broker restarts: the forwarded request never reaches the owner.
        broker.Dropping = true;
        var (status, body) = await poll.RawPollAsync(poll.Received, via: forwarder.Http)
            .WithTimeout("the forwarding node to answer by itself", TestNode.ForwardingSilenceTimeout + TimeSpan.FromSeconds(5));
        broker.Dropping = false;
        await _owner.Publisher.PublishAsync("news/lost", new { n = 1 });
        poll.Via = forwarder.Http;
        var message = await poll.NextOfTypeAsync("message");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("", body);
        Assert.Equal(1, message.GetProperty("offset").GetInt64());
    }

    [Fact]
    public async Task A_forwarded_send_that_is_never_confirmed_gets_timeout_within_seconds()
    {
        var broker = new LossyBroker(_backplane);
        await using var forwarder = await TestNode.StartAsync(services: b => b.Services.Replace(ServiceDescriptor.Singleton<IBroker>(broker)));
        using var poll = await PollClient.OpenAsync(_owner.BaseUri);

        broker.Dropping = true;
        using var request = new HttpRequestMessage(HttpMethod.Post, $"pubsub/send?session={Uri.EscapeDataString(poll.SessionId)}")
        {
            Content = new StringContent("""{"type":"ping","id":1}"""),
        };
        using var response = await forwarder.Http.SendAsync(request)
            .WithTimeout("the forwarding node to answer by itself", TestNode.ForwardingSilenceTimeout + TimeSpan.FromSeconds(5));
        var body = await response.Content.ReadAsStringAsync();

        // The forwarding node cannot know whether the frames were handled, and says so.
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Contains("\"timeout\"", body, StringComparison.Ordinal);
    }

    /// <summary>A node whose messages to other nodes are lost while <see cref="Dropping"/>, though the broker says they went.</summary>
    private sealed class LossyBroker(MemoryBackplane shared) : MemoryBrokerDecorator(shared)
    {
        public volatile bool Dropping;

        public override ValueTask<bool> SendToNodeAsync(string nodeId, ReadOnlyMemory<byte> message, CancellationToken cancellationToken) =>
            Dropping ? ValueTask.FromResult(true) : base.SendToNodeAsync(nodeId, message, cancellationToken);
    }
}
