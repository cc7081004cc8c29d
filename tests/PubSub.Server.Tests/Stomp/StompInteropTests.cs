using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.FileProviders;

namespace PubSub.Server.Tests.Stomp;

/// <summary>
/// @stomp/stompjs 7 (a STOMP client nobody here wrote; tests/interop/stomp-scenario.mjs), in Node and
/// in headless Chromium, against a real node, beside a PubSub-protocol client on the same channel: it connects, subscribes
/// with a receipt, sends and receives, exchanges heart-beats both ways, unsubscribes, disconnects,
/// comes back with <c>x-since</c> and recovers what it missed, and reads an ERROR as an error.
/// </summary>
public sealed class StompInteropTests
{
    private static Func<JsonElement, bool> Is(string name) => line => line.GetProperty("event").GetString() == name;

    private static string Header(JsonElement line, string name) => line.GetProperty("headers").GetProperty(name).GetString()!;

    [Fact]
    public async Task Stompjs_in_node_talks_to_a_node_and_recovers_with_x_since()
    {
        await using var node = await StartNodeAsync();
        await using var scenario = new NodeScenario(node.WebSocketUri);

        await RunScenarioAsync(node, scenario);
    }

    [Fact]
    public async Task Stompjs_in_headless_chromium_talks_to_a_node_and_recovers_with_x_since()
    {
        await using var node = await StartNodeAsync(ServeScenarioPage);
        await using var browser = await HeadlessChromium.StartAsync();

        await RunScenarioAsync(node, new BrowserScenario(browser, new Uri(node.BaseUri, "stomp.html")));
        Assert.Equal("object", (await browser.EvaluateAsync("typeof window.scenario")).GetString());
    }

    private const string Channel = "chat/stompjs";

    /// <summary>A node whose heart-beat is one second, so that beats go both ways within a test.</summary>
    private static Task<TestNode> StartNodeAsync(Action<WebApplication>? page = null) =>
        TestNode.StartAsync(options => options.PingInterval = TimeSpan.FromSeconds(1), map: app =>
        {
            page?.Invoke(app);
            app.MapPubSub("/pubsub");
            app.MapPubSubApi("/api");
        });

    /// <summary>
    /// /stomp.html runs tests/interop/stomp-scenario.mjs with the ES modules of @stomp/stompjs, all
    /// served by the node itself, so the page's WebSocket is same-origin as a site's would be.
    /// </summary>
    private static void ServeScenarioPage(WebApplication app)
    {
        var stompjs = Path.Combine(NodeScript.InteropDirectory, "node_modules", "@stomp", "stompjs", "esm6");
        app.UseStaticFiles(new StaticFileOptions { FileProvider = new PhysicalFileProvider(stompjs), RequestPath = "/stompjs" });
        app.MapGet("/stomp-scenario.mjs", () => Results.File(Path.Combine(NodeScript.InteropDirectory, "stomp-scenario.mjs"), "text/javascript"));
        app.MapGet("/stomp.html", () => Results.Content($$"""
            <!doctype html>
            <script type="module">
              import { Client } from "/stompjs/index.js";
              import { startScenario } from "/stomp-scenario.mjs";
              window.events = [];
              window.scenario = startScenario(Client, `ws://${location.host}/pubsub/ws`, "{{Channel}}", (line) => window.events.push(line));
            </script>
            """, "text/html"));
    }

    /// <summary>
    /// The scenario of tests/interop/stomp-scenario.mjs, wherever it runs, beside a PubSub-protocol
    /// client on the same channel: what it reports, step by step, and what the other client got.
    /// </summary>
    private static async Task RunScenarioAsync(TestNode node, IScenario scenario)
    {
        await using var json = await node.ConnectAsync();
        await json.SubscribeAsync(Channel);
        await scenario.StartAsync();

        var (connected, _) = await NextWhereAsync(scenario, Is("connected"));
        var (subscribed, _) = await NextWhereAsync(scenario, Is("subscribed"));
        var (beats, beforeBeats) = await NextWhereAsync(scenario, Is("heartbeats"));
        var (_, beforeDisconnect) = await NextWhereAsync(scenario, Is("disconnected"));
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

        // Missed while away, recovered on the way back.
        await Timeouts.Until(() => node.SessionCount == 1, "the stompjs session is released");
        await node.Publisher.PublishAsync(Channel, Payload.FromJson("3"u8));
        await node.Publisher.PublishAsync(Channel, Payload.FromJson("4"u8));
        await scenario.StepAsync("reconnect");
        var (resubscribed, _) = await NextWhereAsync(scenario, Is("resubscribed"));
        var (third, _) = await NextWhereAsync(scenario, Is("message"));
        var (fourth, _) = await NextWhereAsync(scenario, Is("message"));

        Assert.Equal("true", Header(resubscribed, "x-recovered"));
        Assert.Equal(["3", "4"], new[] { third, fourth }.Select(m => m.GetProperty("body").GetString()));
        Assert.Equal("again", Header(third, "subscription"));

        await scenario.StepAsync("bad");
        var (error, _) = await NextWhereAsync(scenario, Is("error"));
        var (closed, _) = await NextWhereAsync(scenario, line => Is("closed")(line) && line.GetProperty("code").GetInt32() != 1000);

        Assert.Equal("unknown_channel", Header(error, "x-code"));
        Assert.Equal("bad-1", Header(error, "receipt-id"));
        Assert.Contains("nope/x", error.GetProperty("body").GetString(), StringComparison.Ordinal);
        Assert.Equal(4501, closed.GetProperty("code").GetInt32());
    }

    private static async Task<(JsonElement Match, List<JsonElement> Before)> NextWhereAsync(IScenario scenario, Func<JsonElement, bool> predicate)
    {
        var before = new List<JsonElement>();
        // Each step reports a handful of events; a scenario gone astray fails here, not in a hang.
        for (var guard = 0; guard < 1000; guard++)
        {
            var line = await scenario.NextAsync();
            if (predicate(line))
            {
                return (line, before);
            }
            before.Add(line);
        }
        throw new InvalidOperationException($"No matching event among: {string.Join('\n', before)}");
    }

    /// <summary>Where the scenario runs: the events it reports, in order, and its steps.</summary>
    private interface IScenario
    {
        /// <summary>Starts the scenario: it connects, subscribes and sends at once.</summary>
        Task StartAsync();

        Task<JsonElement> NextAsync();

        Task StepAsync(string step);
    }

    private sealed class NodeScenario(Uri webSocket) : IScenario, IAsyncDisposable
    {
        private NodeScript? _script;

        private NodeScript Script => _script ?? throw new InvalidOperationException("Not started.");

        public Task StartAsync()
        {
            _script = NodeScript.Start("stomp-interop.mjs", webSocket.ToString(), Channel);
            return Task.CompletedTask;
        }

        public Task<JsonElement> NextAsync() => Script.NextAsync();

        public Task StepAsync(string step) => Script.SendLineAsync(step);

        public async ValueTask DisposeAsync()
        {
            if (_script is not null)
            {
                await _script.DisposeAsync();
            }
        }
    }

    private sealed class BrowserScenario(HeadlessChromium browser, Uri page) : IScenario
    {
        private int _next;

        public Task StartAsync() => browser.NavigateAsync(page.ToString());

        public async Task<JsonElement> NextAsync()
        {
            await browser.UntilAsync($"window.events && window.events.length > {_next}", $"event {_next} of the page's scenario");
            return await browser.EvaluateAsync($"window.events[{_next++}]");
        }

        public async Task StepAsync(string step) => await browser.EvaluateAsync($"window.scenario.{step}()");
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
        // The Host's chat/{room} announces joins: the STOMP client's arrives first.
        var published = await json.NextOfTypeAsync("message", "join", "leave");

        Assert.Equal("hello", printed.GetProperty("text").GetString());
        Assert.Equal("hello", published.GetProperty("data").GetProperty("text").GetString());
        Assert.True(example.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length <= 12, example);
    }
}
