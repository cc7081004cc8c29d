using System.Text.Json;

namespace PubSub.Server.Tests.Stomp;

/// <summary>
/// @stomp/stompjs 7 (a STOMP client nobody here wrote, run by Node; tests/interop/stomp-interop.mjs)
/// against a real node, beside a PubSub-protocol client on the same channel: it connects, subscribes
/// with a receipt, sends and receives, exchanges heart-beats both ways, unsubscribes, disconnects,
/// comes back with <c>x-since</c> and recovers what it missed, and reads an ERROR as an error.
/// </summary>
public sealed class StompInteropTests
{
    private static Func<JsonElement, bool> Is(string name) => line => line.GetProperty("event").GetString() == name;

    private static string Header(JsonElement line, string name) => line.GetProperty("headers").GetProperty(name).GetString()!;

    [Fact]
    public async Task Stompjs_talks_to_a_node_and_recovers_with_x_since()
    {
        // A one-second heart-beat, so that beats go both ways within the test.
        await using var node = await TestNode.StartAsync(options => options.PingInterval = TimeSpan.FromSeconds(1));
        await using var json = await node.ConnectAsync();
        await json.SubscribeAsync("chat/stompjs");
        await using var script = NodeScript.Start("stomp-interop.mjs", node.WebSocketUri.ToString(), "chat/stompjs");

        var (connected, _) = await script.NextWhereAsync(Is("connected"));
        var (subscribed, _) = await script.NextWhereAsync(Is("subscribed"));
        var (beats, beforeBeats) = await script.NextWhereAsync(Is("heartbeats"));
        var (disconnected, beforeDisconnect) = await script.NextWhereAsync(Is("disconnected"));
        var lines = beforeBeats.Concat(beforeDisconnect).ToList();
        var messages = lines.Where(Is("message")).ToList();
        var receipts = lines.Where(Is("receipt")).ToList();
        // The one-second ping reaches the PubSub client too.
        var relayed = new[] { await json.NextOfTypeAsync("message", "ping"), await json.NextOfTypeAsync("message", "ping") };

        Assert.Equal("1.2", Header(connected, "version"));
        Assert.Equal("1000,1000", Header(connected, "heart-beat"));
        Assert.Equal("0", Header(subscribed, "x-offset"));
        Assert.Equal(["send-1", "send-2"], receipts.Select(r => Header(r, "receipt-id")).Order());
        Assert.Equal(["""{"n":1}""", """{"n":2}"""], messages.Select(m => m.GetProperty("body").GetString()));
        Assert.All(messages, m => Assert.Equal("sub-0", Header(m, "subscription")));
        Assert.Equal(["1", "2"], messages.Select(m => Header(m, "x-offset")));
        Assert.Equal([1, 2], relayed.Select(m => m.GetProperty("data").GetProperty("n").GetInt32()));
        Assert.True(beats.GetProperty("sent").GetInt32() >= 2 && beats.GetProperty("received").GetInt32() >= 2, beats.ToString());
        Assert.Contains(lines, line => Is("unsubscribed")(line));
        Assert.True(disconnected.ValueKind == JsonValueKind.Object);

        // Missed while away, recovered on the way back.
        await Timeouts.Until(() => node.SessionCount == 1, "the stompjs session is released");
        await node.Publisher.PublishAsync("chat/stompjs", Payload.FromJson("3"u8));
        await node.Publisher.PublishAsync("chat/stompjs", Payload.FromJson("4"u8));
        await script.SendLineAsync("reconnect");
        var (resubscribed, _) = await script.NextWhereAsync(Is("resubscribed"));
        var (third, _) = await script.NextWhereAsync(Is("message"));
        var (fourth, _) = await script.NextWhereAsync(Is("message"));

        Assert.Equal("true", Header(resubscribed, "x-recovered"));
        Assert.Equal(["3", "4"], new[] { third, fourth }.Select(m => m.GetProperty("body").GetString()));
        Assert.Equal("again", Header(third, "subscription"));

        await script.SendLineAsync("bad");
        var (error, _) = await script.NextWhereAsync(Is("error"));
        var (closed, _) = await script.NextWhereAsync(line => Is("closed")(line) && line.GetProperty("code").GetInt32() != 1000);

        Assert.Equal("unknown_channel", Header(error, "x-code"));
        Assert.Equal("bad-1", Header(error, "receipt-id"));
        Assert.Contains("nope/x", error.GetProperty("body").GetString(), StringComparison.Ordinal);
        Assert.Equal(4501, closed.GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task The_readme_stomp_example_runs_against_the_host()
    {
        var readme = File.ReadAllText(Path.Combine(Repository.Root, "README.md"));
        var section = readme[readme.IndexOf("## STOMP clients", StringComparison.Ordinal)..];
        var start = section.IndexOf("```js\n", StringComparison.Ordinal) + "```js\n".Length;
        var example = section[start..section.IndexOf("```", start, StringComparison.Ordinal)];
        await using var host = await HostProcess.StartAsync(new Dictionary<string, string>());
        await using var json = await WsClient.ConnectAsync(new Uri($"ws://127.0.0.1:{host.Port}/pubsub/ws"));
        await json.SubscribeAsync("chat/lobby");

        // Run as the README has it, but for the Host's address; from tests/interop, where @stomp/stompjs is.
        await using var script = NodeScript.Start("--experimental-websocket", "--input-type=module", "-e",
            example.Replace("ws://localhost:5000/", $"ws://127.0.0.1:{host.Port}/", StringComparison.Ordinal));
        var printed = await script.NextAsync();
        var published = await json.NextOfTypeAsync("message");

        Assert.Equal("hello", printed.GetProperty("text").GetString());
        Assert.Equal("hello", published.GetProperty("data").GetProperty("text").GetString());
        Assert.True(example.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length <= 12, example);
    }
}
