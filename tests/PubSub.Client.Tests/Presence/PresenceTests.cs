using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using PubSub.Client.Tests.Support;

namespace PubSub.Client.Tests.Presence;

/// <summary>
/// Presence through the client against a real node: <see cref="PubSubClient.PresenceAsync"/> and
/// <see cref="PubSubClient.PresenceStatsAsync"/>, the <see cref="PubSubSubscription.Joined"/> and
/// <see cref="PubSubSubscription.Left"/> events on every transport and encoding, and what the
/// server refuses.
/// </summary>
public sealed class PresenceTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public static TheoryData<PubSubTransport, PubSubEncoding> TransportsAndEncodings
    {
        get
        {
            var data = new TheoryData<PubSubTransport, PubSubEncoding>();
            foreach (var transport in ClientHarness.AllTransports)
            {
                data.Add(transport, PubSubEncoding.Json);
                data.Add(transport, PubSubEncoding.MessagePack);
            }
            return data;
        }
    }

    public async Task InitializeAsync() => _node = await TestNode.StartAsync(
        configure: o =>
        {
            o.Channel("room/{x}", c => c.Presence().JoinLeave());
            o.Channel("vip/{x}", c => c.Presence().RequireAuthorization("vip"));
            // The user's name as connection info, so the tests see it travel.
            o.OnConnect = context =>
            {
                context.ConnectionInfo = Payload.FromValue(new { name = context.User.Identity?.Name });
                return ValueTask.CompletedTask;
            };
        },
        host: h =>
        {
            h.Services.AddTestAuthentication();
            h.Services.AddAuthorizationBuilder().AddPolicy("vip", p => p.RequireRole("vip"));
        });

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private static string NewChannel(string template) => template + "/" + Guid.NewGuid().ToString("N")[..8];

    private Task<PubSubClient> ConnectAsAsync(string user, PubSubTransport? transport = null, PubSubEncoding encoding = PubSubEncoding.Json) =>
        ClientHarness.ConnectAsync(_node, transport, o =>
        {
            o.Headers[TestAuthenticationHandler.UserHeader] = user;
            o.Encoding = encoding;
        });

    [Theory, MemberData(nameof(TransportsAndEncodings))]
    public async Task Presence_lists_this_client_and_another_with_their_users_and_info(PubSubTransport transport, PubSubEncoding encoding)
    {
        var channel = NewChannel("room");
        await using var alice = await ConnectAsAsync("alice", transport, encoding);
        await using var bob = await ConnectAsAsync("bob");
        await using var aliceIn = await alice.SubscribeAsync(channel);
        await using var bobIn = await bob.SubscribeAsync(channel);

        var presence = await alice.PresenceAsync(channel).WithTimeout("the presence reply");

        Assert.False(presence.Truncated);
        Assert.Equal(
            [(alice.SessionId!, "alice", "alice"), (bob.SessionId!, "bob", "bob")],
            presence.Members.Select(m => (m.Session, m.User, m.Info!.Value.GetProperty("name").GetString()!)).OrderBy(m => m.User, StringComparer.Ordinal));
    }

    [Fact]
    public async Task Presence_stats_count_clients_and_distinct_users()
    {
        var channel = NewChannel("room");
        await using var alice = await ConnectAsAsync("alice");
        await using var bob = await ConnectAsAsync("bob", PubSubTransport.LongPolling);
        await using var bobAgain = await ConnectAsAsync("bob", PubSubTransport.ServerSentEvents, PubSubEncoding.MessagePack);
        foreach (var client in new[] { alice, bob, bobAgain })
        {
            await client.SubscribeAsync(channel);
        }

        var stats = await alice.PresenceStatsAsync(channel).WithTimeout("the presence_stats reply");

        Assert.Equal((3, 2), (stats.Clients, stats.Users));
    }

    [Theory, MemberData(nameof(TransportsAndEncodings))]
    public async Task Joined_and_Left_tell_of_another_client_and_do_not_move_the_position(PubSubTransport transport, PubSubEncoding encoding)
    {
        var channel = NewChannel("room");
        await using var alice = await ConnectAsAsync("alice", transport, encoding);
        await using var aliceIn = await alice.SubscribeAsync(channel);
        var seen = Channel.CreateUnbounded<(string Kind, PubSubPresenceEventArgs Event)>();
        aliceIn.Joined += (_, e) => seen.Writer.TryWrite(("join", e));
        aliceIn.Left += (_, e) => seen.Writer.TryWrite(("leave", e));
        await _node.PublishNumbersAsync(channel, [1]);
        await aliceIn.ReadAsync(1);
        var before = aliceIn.Position;

        var bob = await ConnectAsAsync("bob");
        var bobSession = bob.SessionId!;
        var bobIn = await bob.SubscribeAsync(channel);
        var join = await seen.Reader.ReadAsync().AsTask().WithTimeout("bob's join");
        await bobIn.UnsubscribeAsync();
        var leave = await seen.Reader.ReadAsync().AsTask().WithTimeout("bob's leave");
        await bob.DisposeAsync();
        await _node.PublishNumbersAsync(channel, [2]);
        var next = (await aliceIn.ReadAsync(1))[0];

        Assert.Equal("join", join.Kind);
        Assert.Equal("leave", leave.Kind);
        foreach (var (_, e) in new[] { join, leave })
        {
            Assert.Equal((channel, bobSession, "bob"), (e.Channel, e.Session, e.User));
            Assert.Equal("bob", e.Info!.Value.GetProperty("name").GetString());
        }
        // Joins and leaves are not publications: the next message follows the last one.
        Assert.Equal(before!.Value.Offset + 1, next.Position.Offset);
        Assert.Equal(2, next.N());
    }

    [Fact]
    public async Task Presence_on_a_template_without_it_is_refused_with_presence_disabled()
    {
        await using var client = await ConnectAsAsync("alice");

        var presence = await Assert.ThrowsAsync<PubSubException>(() => client.PresenceAsync("chat/lobby").WithTimeout("the refusal"));
        var stats = await Assert.ThrowsAsync<PubSubException>(() => client.PresenceStatsAsync("chat/lobby").WithTimeout("the refusal"));

        Assert.Equal(PubSubErrorCodes.PresenceDisabled, presence.Code);
        Assert.Equal(PubSubErrorCodes.PresenceDisabled, stats.Code);
    }

    [Fact]
    public async Task Presence_needs_the_rights_to_subscribe()
    {
        var channel = NewChannel("vip");
        await using var guest = await ConnectAsAsync("alice");

        var presence = await Assert.ThrowsAsync<PubSubException>(() => guest.PresenceAsync(channel).WithTimeout("the refusal"));
        var unknown = await Assert.ThrowsAsync<PubSubException>(() => guest.PresenceAsync("nope/x").WithTimeout("the refusal"));

        Assert.Equal(PubSubErrorCodes.Forbidden, presence.Code);
        Assert.Equal(PubSubErrorCodes.UnknownChannel, unknown.Code);
    }
}
