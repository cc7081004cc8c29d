using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace PubSub.Server.Tests.Channels;

/// <summary>
/// The access rules a channel template states in configuration, with no code: signed-in users
/// only, a role, a claim, and user-limited channels. Each refusal is <c>forbidden</c> with a
/// message that says why, and the refused client's other subscriptions go on.
/// </summary>
public sealed class ChannelRulesTests
{
    // The rules as the Host binds them from appsettings.json.
    private static readonly Dictionary<string, string?> s_configuration = new()
    {
        ["Channels:0:Template"] = "members/{room}",
        ["Channels:0:RequireAuthenticatedUser"] = "true",
        ["Channels:1:Template"] = "staff/{room}",
        ["Channels:1:RequireRoles:0"] = "admin",
        ["Channels:1:RequireRoles:1"] = "support",
        ["Channels:1:AllowClientPublish"] = "true",
        ["Channels:2:Template"] = "gold/{room}",
        ["Channels:2:RequireClaims:tier:0"] = "gold",
        ["Channels:2:RequireClaims:tier:1"] = "platinum",
        ["Channels:3:Template"] = "users/{id}/notifications",
        ["Channels:3:UserParameter"] = "id",
        ["Channels:4:Template"] = "open/{room}",
    };

    private static Task<TestNode> StartAsync() => TestNode.StartAsync(
        o => new ConfigurationBuilder().AddInMemoryCollection(s_configuration).Build().Bind(o),
        host: h => h.Services.AddTestAuthentication());

    [Fact]
    public async Task An_anonymous_client_is_refused_a_channel_for_signed_in_users_and_keeps_its_other_subscriptions()
    {
        await using var node = await StartAsync();
        await using var anonymous = await node.ConnectAsAsync(null);
        await using var alice = await node.ConnectAsAsync("alice");
        await anonymous.SubscribeAsync("open/lobby");

        var refused = await anonymous.RequestAsync(new() { ["type"] = "subscribe", ["channel"] = "members/lobby" });
        await alice.SubscribeAsync("members/lobby");
        await node.PublishViaApiAsync("open/lobby", new { n = 1 });

        AssertForbidden(refused, "'members/lobby' is for signed-in users only.");
        Assert.Equal(1, (await anonymous.NextOfTypeAsync("message")).GetProperty("data").GetProperty("n").GetInt32());
    }

    [Fact]
    public async Task A_role_channel_admits_a_user_with_any_of_its_roles_only()
    {
        await using var node = await StartAsync();
        await using var support = await node.ConnectAsAsync("sam", roles: "support");
        await using var admin = await node.ConnectAsAsync("ada", roles: "viewer,admin");
        await using var viewer = await node.ConnectAsAsync("val", roles: "viewer");

        await support.SubscribeAsync("staff/desk");
        await admin.SubscribeAsync("staff/desk");
        var refused = await viewer.RequestAsync(new() { ["type"] = "subscribe", ["channel"] = "staff/desk" });
        var publishRefused = await viewer.RequestAsync(new() { ["type"] = "publish", ["channel"] = "staff/desk", ["data"] = 1 });

        AssertForbidden(refused, "Not authorized for 'staff/desk': a role or claim the channel requires is missing.");
        AssertForbidden(publishRefused, "Not authorized for 'staff/desk': a role or claim the channel requires is missing.");
    }

    [Fact]
    public async Task A_claim_channel_admits_a_user_whose_claim_has_one_of_the_accepted_values()
    {
        await using var node = await StartAsync();
        await using var gold = await ConnectWithClaimsAsync(node, "gus", "tier=gold");
        await using var platinum = await ConnectWithClaimsAsync(node, "pia", "tier=platinum");
        await using var silver = await ConnectWithClaimsAsync(node, "sil", "tier=silver");
        await using var none = await node.ConnectAsAsync("nob");

        await gold.SubscribeAsync("gold/lounge");
        await platinum.SubscribeAsync("gold/lounge");
        const string Missing = "Not authorized for 'gold/lounge': a role or claim the channel requires is missing.";
        AssertForbidden(await silver.RequestAsync(new() { ["type"] = "subscribe", ["channel"] = "gold/lounge" }), Missing);
        AssertForbidden(await none.RequestAsync(new() { ["type"] = "subscribe", ["channel"] = "gold/lounge" }), Missing);
    }

    [Fact]
    public async Task A_user_limited_channel_is_readable_by_its_user_alone_and_history_is_guarded_too()
    {
        await using var node = await StartAsync();
        await using var alice = await node.ConnectAsAsync("alice");
        await using var bob = await node.ConnectAsAsync("bob");
        await using var anonymous = await node.ConnectAsAsync(null);
        await bob.SubscribeAsync("users/bob/notifications");

        await alice.SubscribeAsync("users/alice/notifications");
        var intrusion = await bob.RequestAsync(new() { ["type"] = "subscribe", ["channel"] = "users/alice/notifications" });
        var history = await bob.RequestAsync(new() { ["type"] = "history", ["channel"] = "users/alice/notifications" });
        var anonymousIntrusion = await anonymous.RequestAsync(new() { ["type"] = "subscribe", ["channel"] = "users/alice/notifications" });
        await node.PublishViaApiAsync("users/alice/notifications", new { to = "alice" });
        await node.PublishViaApiAsync("users/bob/notifications", new { to = "bob" });

        AssertForbidden(intrusion, "'users/alice/notifications' belongs to another user.");
        AssertForbidden(history, "'users/alice/notifications' belongs to another user.");
        AssertForbidden(anonymousIntrusion, "'users/alice/notifications' is for signed-in users only.");
        Assert.Equal("alice", (await alice.NextOfTypeAsync("message")).GetProperty("data").GetProperty("to").GetString());
        Assert.Equal("bob", (await bob.NextOfTypeAsync("message")).GetProperty("data").GetProperty("to").GetString());
    }

    [Fact]
    public async Task A_user_parameter_that_is_not_in_the_template_fails_the_start()
    {
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            TestNode.StartAsync(o => o.Channel("inbox/{name}", c => c.ForUser("id"))));

        Assert.Contains("Channel template 'inbox/{name}': UserParameter 'id' is not one of its parameters.", failure.Message, StringComparison.Ordinal);
    }

    private static Task<WsClient> ConnectWithClaimsAsync(TestNode node, string user, string claims) =>
        WsClient.ConnectAsync(node.WebSocketUri, configure: options =>
        {
            options.SetRequestHeader(TestAuthenticationHandler.UserHeader, user);
            options.SetRequestHeader(TestAuthenticationHandler.ExtraClaimsHeader, claims);
        });

    private static void AssertForbidden(JsonElement reply, string message)
    {
        var error = reply.GetProperty("error");
        Assert.Equal("forbidden", error.GetProperty("code").GetString());
        Assert.Equal(message, error.GetProperty("message").GetString());
    }
}
