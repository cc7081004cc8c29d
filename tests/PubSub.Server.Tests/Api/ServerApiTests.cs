using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace PubSub.Server.Tests.Api;

public sealed class ServerApiTests
{
    private static HttpRequestMessage Publish(string body, string? key = TestNode.ApiKey)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "api/publish") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (key is not null)
        {
            request.Headers.Add("X-API-Key", key);
        }
        return request;
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(TestNode node, HttpRequestMessage request)
    {
        using (request)
        {
            using var response = await node.Http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            return (response.StatusCode, text.Length == 0 ? default : JsonSerializer.Deserialize<JsonElement>(text));
        }
    }

    private static string ErrorCode(JsonElement body) => body.GetProperty("error").GetProperty("code").GetString()!;

    [Fact]
    public async Task Publishing_with_the_key_returns_the_position_and_reaches_subscribers()
    {
        await using var node = await TestNode.StartAsync();
        await using var client = await node.ConnectAsync();
        await client.SubscribeAsync("news/api");

        var (status, body) = await SendAsync(node, Publish("""{"channel":"news/api","data":{"headline":"from the back end"}}"""));
        var message = await client.NextOfTypeAsync("message");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1, body.GetProperty("offset").GetInt64());
        Assert.Equal(body.GetProperty("epoch").GetString(), message.GetProperty("epoch").GetString());
        Assert.Equal("from the back end", message.GetProperty("data").GetProperty("headline").GetString());
    }

    [Fact]
    public async Task Binary_data_can_be_published_through_the_api()
    {
        await using var node = await TestNode.StartAsync();
        await using var client = await node.ConnectAsync();
        await client.SubscribeAsync("news/bin");

        var (status, _) = await SendAsync(node, Publish("""{"channel":"news/bin","binary":"AAEC"}"""));
        var message = await client.NextOfTypeAsync("message");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("AAEC", message.GetProperty("binary").GetString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("wrong-key")]
    [InlineData("test-api-key-but-longer")]
    public async Task Publishing_without_the_right_key_is_unauthorized_and_publishes_nothing(string? key)
    {
        await using var node = await TestNode.StartAsync();

        var (status, body) = await SendAsync(node, Publish("""{"channel":"news/api","data":1}""", key));
        var history = await node.Publisher.GetHistoryAsync("news/api");

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("unauthorized", ErrorCode(body));
        Assert.Equal(0, history.Latest.Offset);
    }

    [Fact]
    public async Task With_no_key_configured_and_no_policy_the_api_is_closed()
    {
        await using var node = await TestNode.StartAsync(o => o.ApiKey = null);

        var (status, body) = await SendAsync(node, Publish("""{"channel":"news/api","data":1}""", key: null));

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("ApiKey", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_a_policy_instead_of_a_key_the_api_serves_callers_that_satisfy_it()
    {
        await using var node = await TestNode.StartAsync(
            o => o.ApiKey = null,
            host: h =>
            {
                h.Services.AddTestAuthentication();
                h.Services.AddAuthorizationBuilder().AddPolicy("publishers", p => p.RequireRole("publisher"));
            },
            map: app =>
            {
                app.MapPubSub("/pubsub");
                app.MapPubSubApi("/api").RequireAuthorization("publishers");
            });

        var anonymous = await SendAsync(node, Publish("""{"channel":"news/api","data":1}""", key: null));
        var notAPublisher = Publish("""{"channel":"news/api","data":1}""", key: null);
        notAPublisher.Headers.Add(TestAuthenticationHandler.UserHeader, "reader");
        var refused = await SendAsync(node, notAPublisher);
        var publisher = Publish("""{"channel":"news/api","data":1}""", key: null);
        publisher.Headers.Add(TestAuthenticationHandler.UserHeader, "backend");
        publisher.Headers.Add(TestAuthenticationHandler.RolesHeader, "publisher");
        var accepted = await SendAsync(node, publisher);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.Status);
        Assert.Equal(HttpStatusCode.Forbidden, refused.Status);
        Assert.Equal(HttpStatusCode.OK, accepted.Status);
        Assert.Equal(1, accepted.Body.GetProperty("offset").GetInt64());
    }

    [Theory]
    [InlineData("""{"channel":"news/api","data":""", HttpStatusCode.BadRequest, "bad_request")]
    [InlineData("""["news/api",1]""", HttpStatusCode.BadRequest, "bad_request")]
    [InlineData("""{"data":1}""", HttpStatusCode.BadRequest, "bad_request")]
    [InlineData("""{"channel":"news/api"}""", HttpStatusCode.BadRequest, "bad_request")]
    [InlineData("""{"channel":"news/api","data":1,"binary":"AA=="}""", HttpStatusCode.BadRequest, "bad_request")]
    [InlineData("""{"channel":"news/api","binary":"***"}""", HttpStatusCode.BadRequest, "bad_request")]
    [InlineData("""{"channel":"has space","data":1}""", HttpStatusCode.BadRequest, "invalid_channel")]
    [InlineData("""{"channel":"nowhere/x","data":1}""", HttpStatusCode.NotFound, "unknown_channel")]
    public async Task Bad_publish_requests_get_a_clear_error(string body, HttpStatusCode expectedStatus, string expectedCode)
    {
        await using var node = await TestNode.StartAsync();

        var (status, response) = await SendAsync(node, Publish(body));

        Assert.Equal(expectedStatus, status);
        Assert.Equal(expectedCode, ErrorCode(response));
    }

    [Fact]
    public async Task A_body_over_the_size_limit_is_refused_with_413()
    {
        await using var node = await TestNode.StartAsync(o => o.MaxMessageSize = 1024);

        var (status, body) = await SendAsync(node, Publish(JsonSerializer.Serialize(new { channel = "news/api", data = new string('x', 5000) })));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal("message_too_large", ErrorCode(body));
    }

    [Fact]
    public async Task History_returns_publications_after_a_position_or_the_latest_ones()
    {
        await using var node = await TestNode.StartAsync();
        StreamPosition second = default;
        for (var i = 1; i <= 5; i++)
        {
            var position = await node.Publisher.PublishAsync("news/h", new { i });
            if (i == 2)
            {
                second = position;
            }
        }

        var after = await GetHistoryAsync(node, $"channel=news/h&epoch={second.Epoch}&offset=2&limit=2");
        var latest = await GetHistoryAsync(node, "channel=news/h&limit=2");

        Assert.Equal(HttpStatusCode.OK, after.Status);
        Assert.Equal(5, after.Body.GetProperty("offset").GetInt64());
        Assert.Equal([3L, 4], after.Body.GetProperty("publications").EnumerateArray().Select(p => p.GetProperty("offset").GetInt64()));
        Assert.Equal(3, after.Body.GetProperty("publications")[0].GetProperty("data").GetProperty("i").GetInt32());
        Assert.Equal([4L, 5], latest.Body.GetProperty("publications").EnumerateArray().Select(p => p.GetProperty("offset").GetInt64()));
    }

    [Theory]
    [InlineData("channel=news/h&epoch=old&offset=1", HttpStatusCode.Conflict, "epoch_mismatch")]
    [InlineData("channel=news/h&epoch=x", HttpStatusCode.BadRequest, "bad_request")]
    [InlineData("channel=news/h&offset=-1&epoch=x", HttpStatusCode.BadRequest, "bad_request")]
    [InlineData("channel=news/h&limit=0", HttpStatusCode.BadRequest, "bad_request")]
    [InlineData("channel=news/h&limit=5000", HttpStatusCode.BadRequest, "bad_request")]
    [InlineData("channel=", HttpStatusCode.BadRequest, "invalid_channel")]
    [InlineData("channel=nowhere/x", HttpStatusCode.NotFound, "unknown_channel")]
    public async Task Bad_history_requests_get_a_clear_error(string query, HttpStatusCode expectedStatus, string expectedCode)
    {
        await using var node = await TestNode.StartAsync();
        await node.Publisher.PublishAsync("news/h", new { i = 1 });

        var (status, body) = await GetHistoryAsync(node, query);

        Assert.Equal(expectedStatus, status);
        Assert.Equal(expectedCode, ErrorCode(body));
    }

    [Fact]
    public async Task History_needs_the_key_too()
    {
        await using var node = await TestNode.StartAsync();

        var (status, _) = await SendAsync(node, new HttpRequestMessage(HttpMethod.Get, "api/history?channel=news/h"));

        Assert.Equal(HttpStatusCode.Unauthorized, status);
    }

    private static Task<(HttpStatusCode Status, JsonElement Body)> GetHistoryAsync(TestNode node, string query)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "api/history?" + query);
        request.Headers.Add("X-API-Key", TestNode.ApiKey);
        return SendAsync(node, request);
    }
}
