using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace PubSub.Server.Tests;

/// <summary>Misconfiguration fails at start-up with a message that says what to fix.</summary>
public sealed class StartupTests
{
    [Fact]
    public async Task MapPubSub_without_AddPubSub_says_what_to_call()
    {
        var builder = WebApplication.CreateSlimBuilder();
        await using var app = builder.Build();

        var error = Assert.Throws<InvalidOperationException>(() => app.MapPubSub());

        Assert.Contains("AddPubSub", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("PingInterval", "PingInterval")]
    [InlineData("RequestBodyTimeout", "RequestBodyTimeout must be positive")]
    [InlineData("OutboundBufferLimit", "OutboundBufferLimit")]
    [InlineData("Template", "'bad/{unclosed' is not a valid route pattern")]
    [InlineData("HistoryTtl", "HistoryTtl")]
    [InlineData("AllowedOrigins", "AllowedOrigins")]
    [InlineData("NodeId", "NodeId")]
    [InlineData("WriteDelayNegative", "WriteDelay must be from 0 to 1000 ms (it is -1 ms)")]
    [InlineData("WriteDelayTooLong", "WriteDelay must be from 0 to 1000 ms (it is 1001 ms)")]
    public async Task Invalid_options_stop_the_node_from_starting(string setting, string explanation)
    {
        Action<PubSubOptions> breakIt = setting switch
        {
            "PingInterval" => o => o.PingInterval = TimeSpan.Zero,
            "RequestBodyTimeout" => o => o.RequestBodyTimeout = TimeSpan.FromSeconds(-1),
            "OutboundBufferLimit" => o => o.OutboundBufferLimit = 10,
            "Template" => o => o.Channel("bad/{unclosed"),
            "HistoryTtl" => o => o.Channels.Add(new ChannelOptions { Template = "h/{x}", HistorySize = 10 }),
            "AllowedOrigins" => o => o.AllowedOrigins.Add("not an origin"),
            "WriteDelayNegative" => o => o.WriteDelay = TimeSpan.FromMilliseconds(-1),
            "WriteDelayTooLong" => o => o.WriteDelay = TimeSpan.FromMilliseconds(1001),
            _ => o => o.NodeId = "has.dot",
        };

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => TestNode.StartAsync(breakIt));

        Assert.Contains(explanation, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wildcard_origin_with_cookie_authentication_stops_the_node_and_says_to_list_the_origins()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => TestNode.StartAsync(
            o => o.AllowedOrigins.Add("*"),
            host: h => h.Services.AddAuthentication().AddCookie("Session")));

        Assert.Contains("AllowedOrigins '*'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'Session'", error.Message, StringComparison.Ordinal);
        Assert.Contains("WebSocket", error.Message, StringComparison.Ordinal);
        Assert.Contains("List the origins", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cookie_authentication_with_listed_origins_and_a_wildcard_with_another_scheme_both_start()
    {
        await using var listed = await TestNode.StartAsync(
            o => o.AllowedOrigins.Add("https://app.example.com"),
            host: h => h.Services.AddAuthentication().AddCookie());
        await using var wildcard = await TestNode.StartAsync(
            o => o.AllowedOrigins.Add("*"),
            host: h => h.Services.AddTestAuthentication());

        using var listedAnswer = await listed.Http.GetAsync("pubsub/negotiate");
        using var wildcardAnswer = await wildcard.Http.GetAsync("pubsub/negotiate");

        Assert.True(listedAnswer.IsSuccessStatusCode);
        Assert.True(wildcardAnswer.IsSuccessStatusCode);
    }

    [Fact]
    public async Task A_node_without_channel_templates_starts_with_a_warning_that_says_where_they_come_from()
    {
        var logs = new LogRecorder();
        await using var node = await TestNode.StartAsync(o => o.Channels.Clear(), host: h => logs.AddTo(h.Logging));

        var warning = Assert.Single(logs.WarningsAndErrors);

        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, warning.Level);
        Assert.Contains("No channel template is configured", warning.Message, StringComparison.Ordinal);
        Assert.Contains("PubSub:Channels", warning.Message, StringComparison.Ordinal);
    }
}
