using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace PubSub.Server.Tests.Channels;

/// <summary>
/// The README's example ("Using it in your application") is safe as written: the staff room is
/// closed to everyone but staff, for reading and for publishing, and the other rooms are open. The
/// configuration below is the README's, line for line, and a test checks that it still is.
/// </summary>
public sealed class ReadmeExampleTests
{
    private static void AddAuthorizationLikeTheReadme(IServiceCollection services) =>
        // README:authorization
        services.AddAuthorization(o =>
        {
            o.AddPolicy("signed-in", p => p.RequireAuthenticatedUser());
            o.AddPolicy("staff", p => p.RequireRole("staff"));
        });
    // README:end

    private static void AddPubSubLikeTheReadme(PubSubOptions o)
    {
        // README:channels
        o.Channel("chat/{room}", c => c
            .History(size: 100, ttl: TimeSpan.FromMinutes(5))
            .AllowClientPublish()
            .OnPublish(ctx =>
            {
                if (ctx.Data.Bytes.Length > 2000)
                {
                    ctx.Reject("too_long", "Keep it short."); // any code of your choosing
                }
            }));
        // More specific than chat/{room}, so it governs chat/staff. The policy guards subscribing,
        // history and publishing alike (the client gets "forbidden"); an OnSubscribe hook would
        // guard subscribing and history only, and let anyone publish into the room.
        o.Channel("chat/staff", c => c
            .History(size: 100, ttl: TimeSpan.FromMinutes(5))
            .AllowClientPublish()
            .RequireAuthorization("staff"));
        // Only user 42 may read users/42/notifications: the route value must equal the user's id.
        o.Channel("users/{id}/notifications", c => c.History(20, TimeSpan.FromHours(1)).ForUser("id"));
        // README:end
    }

    private static Task<TestNode> StartLikeTheReadmeAsync() => TestNode.StartAsync(
        o =>
        {
            // Only the README's templates, none of the test node's own.
            o.Channels.Clear();
            AddPubSubLikeTheReadme(o);
        },
        host: h =>
        {
            h.Services.AddTestAuthentication();
            AddAuthorizationLikeTheReadme(h.Services);
        });

    private static string ErrorCode(JsonElement reply)
    {
        Assert.True(reply.TryGetProperty("error", out var error), $"expected a refusal, got {reply}");
        return error.GetProperty("code").GetString()!;
    }

    [Fact]
    public async Task A_user_who_is_not_staff_can_neither_read_nor_publish_the_staff_room_while_other_rooms_work()
    {
        await using var node = await StartLikeTheReadmeAsync();
        await using var staff = await node.ConnectAsAsync("sue", roles: "staff");
        await staff.SubscribeAsync("chat/staff");
        await using var member = await node.ConnectAsAsync("bob", roles: "member");
        await using var anonymous = await node.ConnectAsAsync(null);

        foreach (var outsider in new[] { member, anonymous })
        {
            var subscribe = await outsider.RequestAsync(new() { ["type"] = "subscribe", ["channel"] = "chat/staff" });
            var history = await outsider.RequestAsync(new() { ["type"] = "history", ["channel"] = "chat/staff" });
            var publish = await outsider.RequestAsync(new() { ["type"] = "publish", ["channel"] = "chat/staff", ["data"] = new { text = "let me in" } });

            Assert.Equal("forbidden", ErrorCode(subscribe));
            Assert.Equal("forbidden", ErrorCode(history));
            Assert.Equal("forbidden", ErrorCode(publish));
            await outsider.SubscribeAsync("chat/lobby");
        }
        using var polling = await node.Http.SendAsync(new HttpRequestMessage(HttpMethod.Get, "pubsub/poll?channel=chat/staff") { Headers = { { TestAuthenticationHandler.UserHeader, "bob" } } });
        await member.PublishAsync("chat/lobby", new { text = "hello lobby" });
        await staff.PublishAsync("chat/staff", new { text = "staff only" });

        Assert.Equal(HttpStatusCode.Forbidden, polling.StatusCode);
        // The staff room holds the staff's publication alone: offset 1.
        var inStaffRoom = await staff.NextOfTypeAsync("message");
        Assert.Equal(1, inStaffRoom.GetProperty("offset").GetInt64());
        Assert.Equal("staff only", inStaffRoom.GetProperty("data").GetProperty("text").GetString());
        Assert.Equal("hello lobby", (await anonymous.NextOfTypeAsync("message")).GetProperty("data").GetProperty("text").GetString());
        var tooLong = await member.RequestAsync(new() { ["type"] = "publish", ["channel"] = "chat/lobby", ["data"] = new string('x', 3000) });
        Assert.Equal("too_long", ErrorCode(tooLong));
    }

    [Fact]
    public async Task A_users_notifications_are_theirs_alone()
    {
        await using var node = await StartLikeTheReadmeAsync();
        await using var owner = await node.ConnectAsAsync("42");
        await using var other = await node.ConnectAsAsync("43");
        await using var anonymous = await node.ConnectAsAsync(null);

        await owner.SubscribeAsync("users/42/notifications");
        var foreign = await other.RequestAsync(new() { ["type"] = "subscribe", ["channel"] = "users/42/notifications" });
        var unsigned = await anonymous.RequestAsync(new() { ["type"] = "subscribe", ["channel"] = "users/42/notifications" });
        await node.Publisher.PublishAsync("users/42/notifications", new { text = "Shipped!" });

        Assert.Equal("forbidden", ErrorCode(foreign));
        Assert.Equal("forbidden", ErrorCode(unsigned));
        Assert.Equal("Shipped!", (await owner.NextOfTypeAsync("message")).GetProperty("data").GetProperty("text").GetString());
    }

    [Fact]
    public async Task The_configuration_here_is_the_readmes()
    {
        var readme = Lines(await File.ReadAllTextAsync(Path.Combine(Repository.Root, "README.md")));
        var test = await File.ReadAllTextAsync(Path.Combine(Repository.Root, "tests", "PubSub.Server.Tests", "Channels", "ReadmeExampleTests.cs"));

        foreach (var part in new[] { "authorization", "channels" })
        {
            var start = test.IndexOf($"// README:{part}", StringComparison.Ordinal);
            var end = test.IndexOf("// README:end", start, StringComparison.Ordinal);
            var lines = Lines(test[(test.IndexOf('\n', start) + 1)..end]);
            Assert.True(ContainsRun(readme, lines), $"README.md does not hold the {part} of this test:\n{string.Join('\n', lines)}");
        }
    }

    /// <summary>Trimmed, non-empty lines, without the test's own wrapping of the README's statement.</summary>
    private static List<string> Lines(string text) =>
        [.. text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).Select(l => l.Replace("services.AddAuthorization", "builder.Services.AddAuthorization", StringComparison.Ordinal))];

    private static bool ContainsRun(List<string> haystack, List<string> run) =>
        Enumerable.Range(0, Math.Max(0, haystack.Count - run.Count + 1)).Any(i => haystack.Skip(i).Take(run.Count).SequenceEqual(run));
}
