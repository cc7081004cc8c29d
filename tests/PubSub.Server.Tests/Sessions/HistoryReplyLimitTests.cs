using System.Net.Http.Json;
using Xunit.Abstractions;

namespace PubSub.Server.Tests.Sessions;

/// <summary>
/// A history reply is a frame like any other: it must fit in what a session may hold for its
/// client. One that would not is refused before it is built, with an error that says how to page.
/// </summary>
public sealed class HistoryReplyLimitTests(ITestOutputHelper output)
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

    /// <summary>
    /// The attack that found it: a channel full of large publications, then connections that each
    /// ask for all of its history and never read. Each reply (6 MB here) used to be admitted into
    /// the empty queue and held, with the socket's and the pipe's copies, by the write that could
    /// not finish: with the old rules put back, this node grew by 1.5 GB within the second sampled
    /// (the attack run saw 4.1 GB). Now each gets a small error, and the node grew by 6 MB.
    /// </summary>
    [Fact]
    public async Task Connections_that_ask_for_all_of_a_large_history_and_never_read_do_not_grow_the_node()
    {
        const int Connections = 200;
        await using var host = await HostProcess.StartAsync(new Dictionary<string, string>
        {
            ["PubSub__ApiKey"] = TestNode.ApiKey,
            ["PubSub__Channels__0__Template"] = "big/{x}",
            ["PubSub__Channels__0__HistorySize"] = "100",
            ["PubSub__Channels__0__HistoryTtl"] = "00:10:00",
        });
        using var http = new HttpClient { BaseAddress = host.BaseUri, Timeout = Timeouts.Default };
        http.DefaultRequestHeaders.Add("X-API-Key", TestNode.ApiKey);
        var payload = new string('x', 60 * 1024);
        for (var n = 1; n <= 100; n++)
        {
            using var published = await http.PostAsJsonAsync("api/publish", new { channel = "big/room", data = new { n, payload } });
            published.EnsureSuccessStatusCode();
        }
        // One honest reader first, so that the request path's one-time costs are behind us.
        await using (var reader = await WsClient.ConnectAsync(new Uri($"ws://127.0.0.1:{host.Port}/pubsub/ws")))
        {
            var page = await reader.RequestAsync(new() { ["type"] = "history", ["channel"] = "big/room", ["limit"] = 10 });
            Assert.Equal(10, page.GetProperty("result").GetProperty("publications").GetArrayLength());
        }
        var before = ProcessMemory.ResidentBytes(host.ProcessId);

        var attackers = new List<StalledWebSocket>();
        try
        {
            for (var i = 0; i < Connections; i++)
            {
                var attacker = await StalledWebSocket.ConnectAsync(host.BaseUri);
                attackers.Add(attacker);
                await attacker.SendAsync("""{"type":"history","id":1,"channel":"big/room","limit":100}""");
            }
            // Each request is handled as it arrives; a round trip on a new connection comes after them.
            await using var probe = await WsClient.ConnectAsync(new Uri($"ws://127.0.0.1:{host.Port}/pubsub/ws"));
            await probe.PingAsync();
            var peak = 0L;
            for (var sample = 0; sample < 20; sample++)
            {
                peak = Math.Max(peak, ProcessMemory.ResidentBytes(host.ProcessId));
                await Task.Delay(50);
            }

            var growth = peak - before;
            // 200 connections' own state and the runtime's noise.
            const long Bound = 64 * 1024 * 1024;
            output.WriteLine($"resident memory grew by {growth / 1024} KiB for {Connections} connections (bound {Bound / 1024} KiB)");
            Assert.True(growth < Bound, $"The node grew by {growth / (1024 * 1024)} MiB for {Connections} connections that asked for a 6 MB history and never read.");
            Assert.Contains("message_too_large", await attackers[0].ReadMessageAsync(), StringComparison.Ordinal);
        }
        finally
        {
            foreach (var attacker in attackers)
            {
                await attacker.DisposeAsync();
            }
        }
    }
}
