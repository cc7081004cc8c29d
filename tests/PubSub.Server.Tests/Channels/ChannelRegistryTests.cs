using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PubSub.Channels;

namespace PubSub.Server.Tests.Channels;

public sealed class ChannelRegistryTests
{
    private static ChannelRegistry Registry(Action<PubSubOptions> configure)
    {
        var options = new PubSubOptions();
        configure(options);
        var services = new ServiceCollection().AddRouting().BuildServiceProvider();
        return new ChannelRegistry(Options.Create(options), services.GetRequiredService<IInlineConstraintResolver>());
    }

    [Fact]
    public void Templates_capture_route_values()
    {
        var registry = Registry(o => o.Channel("chat/{room}"));

        Assert.True(registry.TryResolve("chat/lobby", out var match, out _));
        Assert.Equal("lobby", match!.RouteValues["room"]);
        Assert.Equal("chat/{room}", match.Options.Template);
    }

    [Fact]
    public void A_published_or_subscribed_name_resolves_to_the_same_match_each_time_a_read_keeps_nothing_and_names_past_the_bound_still_resolve()
    {
        var registry = Registry(o => o.Channel("chat/{room}"));

        Assert.True(registry.TryResolve("chat/read", out var read, out _));
        Assert.True(registry.TryResolve("chat/read", out var readAgain, out _));
        Assert.NotSame(read, readAgain);
        Assert.True(registry.TryResolve("chat/lobby", out var first, out _, keep: true));
        Assert.True(registry.TryResolve("chat/lobby", out var again, out _));
        Assert.Same(first, again);
        for (var i = 0; i <= ChannelRegistry.MaxKept; i++)
        {
            Assert.True(registry.TryResolve($"chat/r{i}", out _, out _, keep: true));
        }
        Assert.True(registry.TryResolve("chat/past-the-bound", out var past, out _, keep: true));
        Assert.Equal("past-the-bound", past!.RouteValues["room"]);
        Assert.False(registry.TryResolve("news/x", out _, out var error));
        Assert.Equal(PubSubErrorCodes.UnknownChannel, error.Code);
    }

    [Fact]
    public void Constraints_are_checked()
    {
        var registry = Registry(o => o.Channel("users/{id:int}"));

        Assert.True(registry.TryResolve("users/42", out _, out _));
        Assert.False(registry.TryResolve("users/abc", out _, out var error));
        Assert.Equal(PubSubErrorCodes.UnknownChannel, error.Code);
    }

    [Fact]
    public void The_most_specific_template_wins_whatever_the_registration_order()
    {
        var registry = Registry(o => o.Channel("chat/{room}").Channel("chat/announcements"));

        Assert.True(registry.TryResolve("chat/announcements", out var specific, out _));
        Assert.True(registry.TryResolve("chat/other", out var general, out _));
        Assert.Equal("chat/announcements", specific!.Options.Template);
        Assert.Equal("chat/{room}", general!.Options.Template);
    }

    [Fact]
    public void Catch_all_templates_match_deeper_names()
    {
        var registry = Registry(o => o.Channel("feeds/{**path}"));

        Assert.True(registry.TryResolve("feeds/a/b/c", out var match, out _));
        Assert.Equal("a/b/c", match!.RouteValues["path"]);
    }

    [Theory]
    [InlineData("chat", PubSubErrorCodes.UnknownChannel)]
    [InlineData("chat/a/b", PubSubErrorCodes.UnknownChannel)]
    [InlineData("other/a", PubSubErrorCodes.UnknownChannel)]
    [InlineData("", PubSubErrorCodes.InvalidChannel)]
    [InlineData("chat/a b", PubSubErrorCodes.InvalidChannel)]
    [InlineData("chat/a\tb", PubSubErrorCodes.InvalidChannel)]
    [InlineData("chat/é", PubSubErrorCodes.InvalidChannel)]
    public void Names_that_match_nothing_or_break_the_rules_are_refused(string channel, string code)
    {
        var registry = Registry(o => o.Channel("chat/{room}"));

        Assert.False(registry.TryResolve(channel, out _, out var error));
        Assert.Equal(code, error.Code);
    }

    [Fact]
    public void Allowed_punctuation_is_accepted()
    {
        var registry = Registry(o => o.Channel("x/{**rest}"));

        Assert.True(registry.TryResolve("x/a-b_c.d:e@f~g+h!i$j#k%l=m*n(o)p[q]r{s}t|u;v<w>y?z&", out _, out var error), error.Message);
    }
}
