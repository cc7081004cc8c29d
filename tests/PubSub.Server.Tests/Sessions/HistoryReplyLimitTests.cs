namespace PubSub.Server.Tests.Sessions;

/// <summary>
/// A history reply is a frame like any other: it must fit in what a session may hold for its
/// client. One that would not is refused before it is built, with an error that says how to page.
/// </summary>
public sealed class HistoryReplyLimitTests
{
    [Fact]
    public async Task A_history_reply_larger_than_the_session_may_hold_is_refused_and_a_smaller_page_works()
    {
        await using var node = await TestNode.StartAsync(o => o.OutboundBufferLimit = 256 * 1024);
        var payload = new string('x', 16 * 1024);
        for (var n = 1; n <= 100; n++)
        {
            await node.Publisher.PublishAsync("chat/big", new { n, payload });
        }
        await using var client = await node.ConnectAsync();

        var refused = await client.RequestAsync(new() { ["type"] = "history", ["channel"] = "chat/big", ["limit"] = 100 });
        var page = await client.RequestAsync(new() { ["type"] = "history", ["channel"] = "chat/big", ["limit"] = 10 });

        var error = refused.GetProperty("error");
        Assert.Equal(PubSubErrorCodes.MessageTooLarge, error.GetProperty("code").GetString());
        Assert.Contains("'limit'", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        var publications = page.GetProperty("result").GetProperty("publications");
        Assert.Equal(Enumerable.Range(91, 10).Select(i => (long)i), publications.EnumerateArray().Select(p => p.GetProperty("offset").GetInt64()));
        Assert.Equal(1, node.SessionCount);
    }
}
