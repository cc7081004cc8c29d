using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace PubSub.Server.Tests.Http;

/// <summary>
/// A request body that does not arrive (it stalls, or trickles in a byte at a time) gets a quiet
/// 408 once <see cref="PubSubOptions.RequestBodyTimeout"/> passes, on /send and on the server API;
/// a client that aborts gets nothing. None of it is logged above Debug, and the node goes on. The
/// clients are raw TCP sockets: HttpClient will not send a body this badly.
/// </summary>
public sealed class RequestBodyTests : IAsyncLifetime
{
    private readonly LogRecorder _logs = new();
    private TestNode _node = null!;
    private PollClient _poll = null!;

    public async Task InitializeAsync()
    {
        _node = await StartNodeAsync(TimeSpan.FromMilliseconds(500), kestrelMinimumRate: null);
        _poll = await PollClient.OpenAsync(_node.BaseUri);
    }

    public async Task DisposeAsync()
    {
        _poll.Dispose();
        await _node.DisposeAsync();
    }

    private Task<TestNode> StartNodeAsync(TimeSpan bodyTimeout, MinDataRate? kestrelMinimumRate) => TestNode.StartAsync(
        o => o.RequestBodyTimeout = bodyTimeout,
        host: h =>
        {
            _logs.AddTo(h.Logging);
            // Null takes Kestrel's own guard away, so what answers is the body deadline.
            h.WebHost.ConfigureKestrel(k => k.Limits.MinRequestBodyDataRate = kestrelMinimumRate);
        });

    /// <summary>Opens a request to <paramref name="endpoint"/> whose body of <paramref name="length"/> bytes the server is waiting for.</summary>
    private static async Task<RawHttpConnection> StartBodyAsync(TestNode node, PollClient poll, string endpoint, int length)
    {
        var connection = await RawHttpConnection.OpenAsync(node.BaseUri);
        if (endpoint == "send")
        {
            await connection.SendHeadersAsync("POST", $"pubsub/send?session={Uri.EscapeDataString(poll.SessionId)}", length);
        }
        else
        {
            await connection.SendHeadersAsync("POST", "api/publish", length, "application/json", new Dictionary<string, string> { ["X-API-Key"] = TestNode.ApiKey });
        }
        return connection;
    }

    private static void AssertTimedOut(RawHttpResponse response)
    {
        Assert.True(408 == response.Status, $"{response.Status} {string.Join(", ", response.Headers)} {response.Body}");
        Assert.Equal("close", response.Headers["connection"]);
        var error = JsonSerializer.Deserialize<JsonElement>(response.Body).GetProperty("error");
        Assert.Equal("bad_request", error.GetProperty("code").GetString());
        Assert.Contains("did not arrive in time", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    /// <summary>Nothing above Debug: no error, no stack trace; the one entry is the reader's own, at Debug.</summary>
    private void AssertQuiet()
    {
        Assert.Empty(_logs.WarningsAndErrors);
        Assert.Equal(LogLevel.Debug, Assert.Single(_logs.Entries, e => e.Category == "PubSub.Http.RequestBodyReader").Level);
    }

    private static async Task AssertNodeServesAsync(TestNode node, PollClient poll)
    {
        await poll.SendAsync(new { type = "ping", id = 99 });
        Assert.Equal(99, (await poll.NextAsync()).GetProperty("id").GetInt64());
        Assert.Equal(1, (await node.PublishViaApiAsync("chat/after", new { n = 1 })).GetProperty("offset").GetInt64());
    }

    /// <summary>Sends part of a body and nothing more; returns what the server answers.</summary>
    private static async Task<RawHttpResponse> StallAsync(TestNode node, PollClient poll, string endpoint)
    {
        await using var connection = await StartBodyAsync(node, poll, endpoint, length: 100);
        await connection.SendAsync("""{"type":"pi""");
        return await connection.ReadResponseAsync();
    }

    [Theory]
    [InlineData("send")]
    [InlineData("api")]
    public async Task A_body_that_stalls_midway_gets_408_once_the_deadline_passes(string endpoint)
    {
        var response = await StallAsync(_node, _poll, endpoint);

        AssertTimedOut(response);
        AssertQuiet();
        await AssertNodeServesAsync(_node, _poll);
    }

    [Theory]
    [InlineData("send")]
    [InlineData("api")]
    public async Task A_body_trickled_one_byte_at_a_time_gets_408_once_the_deadline_passes(string endpoint)
    {
        await using var connection = await StartBodyAsync(_node, _poll, endpoint, length: 10_000);

        var response = connection.ReadResponseAsync();
        while (!response.IsCompleted)
        {
            try
            {
                await connection.SendAsync(" ");
            }
            catch (IOException)
            {
                // The server answered and closed the connection between two bytes.
                break;
            }
            // Paces the trickle (the client's behaviour under test); the wait is for the response.
            await Task.WhenAny(response, Task.Delay(50));
        }

        AssertTimedOut(await response);
        AssertQuiet();
        await AssertNodeServesAsync(_node, _poll);
    }

    [Fact]
    public async Task A_body_that_kestrel_refuses_as_too_slow_gets_the_same_quiet_408()
    {
        await using var node = await StartNodeAsync(TimeSpan.FromMinutes(5), new MinDataRate(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(2)));
        using var poll = await PollClient.OpenAsync(node.BaseUri);

        var response = await StallAsync(node, poll, "send");

        AssertTimedOut(response);
        AssertQuiet();
        await AssertNodeServesAsync(node, poll);
    }

    [Theory]
    [InlineData("send", "/pubsub/send")]
    [InlineData("api", "/api/publish")]
    public async Task A_client_that_aborts_its_body_gets_nothing_and_nothing_is_logged(string endpoint, string path)
    {
        // A body deadline far beyond the abort: on a busy machine the shared node's half second
        // could pass before the abort is seen, and then the deadline, not the abort, would answer.
        await using var node = await StartNodeAsync(TimeSpan.FromMinutes(1), kestrelMinimumRate: null);
        using var poll = await PollClient.OpenAsync(node.BaseUri);
        var connection = await StartBodyAsync(node, poll, endpoint, length: 100);

        await connection.SendAsync("""{"type":"pi""");
        connection.Abort();
        await Timeouts.Until(() => _logs.Entries.Any(e => e.Category == "Microsoft.AspNetCore.Hosting.Diagnostics" && e.Message.StartsWith("Request finished", StringComparison.Ordinal) && e.Message.Contains(path, StringComparison.Ordinal)),
            "the server to finish the aborted request");

        Assert.Empty(_logs.WarningsAndErrors);
        Assert.DoesNotContain(_logs.Entries, e => e.Category == "PubSub.Http.RequestBodyReader");
        await AssertNodeServesAsync(node, poll);
    }
}
