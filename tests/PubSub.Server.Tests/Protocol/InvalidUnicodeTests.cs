using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace PubSub.Server.Tests.Protocol;

/// <summary>
/// JSON whose escapes make no Unicode text (a lone surrogate, <c>"\ud800"</c>) is valid JSON
/// syntax, but no client could read it back: on every way in (a WebSocket frame, a /send batch, the
/// server API) it is refused as <c>bad_request</c>, nothing is published, nothing is logged as an
/// error, and the session or node goes on.
/// </summary>
public sealed class InvalidUnicodeTests : IAsyncLifetime
{
    private const string LoneSurrogate = """{"text":"\ud800"}""";

    private readonly LogRecorder _logs = new();
    private TestNode _node = null!;

    public async Task InitializeAsync() => _node = await TestNode.StartAsync(host: h => _logs.AddTo(h.Logging));

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private static string PublishFrame(string channel, string data, int? id) =>
        $$"""{"type":"publish",{{(id is { } value ? $"\"id\":{value}," : "")}}"channel":"{{channel}}","data":{{data}}}""";

    private void AssertNothingLoggedAsAFault() =>
        Assert.DoesNotContain(_logs.Entries, e => e.Level >= LogLevel.Error || e.Exception is not null);

    [Fact]
    public async Task On_a_websocket_the_frame_gets_bad_request_with_its_id_and_the_session_goes_on()
    {
        await using var client = await _node.ConnectAsync();
        await client.SubscribeAsync("chat/u");

        await client.SendRawAsync(PublishFrame("chat/u", LoneSurrogate, id: 7));
        var reply = await client.NextAsync();
        await client.SendRawAsync(PublishFrame("chat/u", """["\udc00"]""", id: null));
        var error = await client.NextAsync();
        // A surrogate pair is valid Unicode, and goes through like any text.
        await client.PublishAsync("chat/u", new { text = "\U0001F600" });
        await client.PublishAsync("chat/u", new { text = "after" });
        var messages = await client.MessagesAsync(2);

        Assert.Equal("reply", reply.GetProperty("type").GetString());
        Assert.Equal(7, reply.GetProperty("id").GetInt64());
        Assert.Equal("bad_request", reply.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("not valid Unicode", reply.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("error", error.GetProperty("type").GetString());
        Assert.Equal("bad_request", error.GetProperty("code").GetString());
        // Only the valid publications were published: offsets 1 and 2, the surrogate pair intact.
        Assert.Equal([1L, 2L], messages.Select(m => m.GetProperty("offset").GetInt64()));
        Assert.Equal("\U0001F600", messages[0].GetProperty("data").GetProperty("text").GetString());
        Assert.Equal("after", messages[1].GetProperty("data").GetProperty("text").GetString());
        Assert.Equal(1, _node.SessionCount);
        AssertNothingLoggedAsAFault();
    }

    [Fact]
    public async Task Through_send_the_frame_is_refused_and_the_rest_of_the_batch_is_handled()
    {
        using var poll = await PollClient.OpenAsync(_node.BaseUri);

        var status = await poll.SendAsync(
            """{"type":"subscribe","id":1,"channel":"chat/s"}""",
            PublishFrame("chat/s", LoneSurrogate, id: 2),
            PublishFrame("chat/s", """{"text":"fine"}""", id: 3),
            """{"type":"ping","id":4}""");
        var frames = new List<JsonElement>();
        while (frames.Count(f => f.GetProperty("type").GetString() == "reply") < 4 || frames.All(f => f.GetProperty("type").GetString() != "message"))
        {
            frames.Add(await poll.NextAsync());
        }
        var replies = frames.Where(f => f.GetProperty("type").GetString() == "reply").ToDictionary(f => f.GetProperty("id").GetInt64());
        var message = frames.Single(f => f.GetProperty("type").GetString() == "message");

        Assert.Equal(HttpStatusCode.NoContent, status);
        Assert.True(replies[1].TryGetProperty("result", out _));
        Assert.Equal("bad_request", replies[2].GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("not valid Unicode", replies[2].GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, replies[3].GetProperty("result").GetProperty("offset").GetInt64());
        Assert.True(replies[4].TryGetProperty("result", out _));
        Assert.Equal("fine", message.GetProperty("data").GetProperty("text").GetString());
        Assert.True(_node.HasSession(poll.SessionId));
        AssertNothingLoggedAsAFault();
    }

    [Theory]
    [InlineData("""{"channel":"chat/api","data":{"text":"\ud800"}}""", "'data'")]
    [InlineData("""{"channel":"chat/\udc00","data":1}""", "'channel'")]
    public async Task The_server_api_answers_400_bad_request_and_publishes_nothing(string body, string field)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/publish") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("X-API-Key", TestNode.ApiKey);

        using var response = await _node.Http.SendAsync(request);
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        var history = await _node.Publisher.GetHistoryAsync("chat/api");
        var after = await _node.PublishViaApiAsync("chat/api", new { text = "fine" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("bad_request", error.GetProperty("code").GetString());
        Assert.Contains(field, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("not valid Unicode", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, history.Latest.Offset);
        Assert.Equal(1, after.GetProperty("offset").GetInt64());
        AssertNothingLoggedAsAFault();
    }
}
