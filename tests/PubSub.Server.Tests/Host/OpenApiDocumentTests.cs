using System.Net;
using System.Text;
using System.Text.Json;

namespace PubSub.Server.Tests.Host;

/// <summary>
/// The Host's OpenAPI description of the server API against what the endpoints do: every endpoint
/// is in the document with its method, request body schema (with the fields a call uses) and
/// responses, and a call built from the document gets one of the documented answers.
/// </summary>
public sealed class OpenApiDocumentTests
{
    private const string Key = "openapi-test-key";

    /// <summary>Each endpoint, and a call of it that the document's request schema describes.</summary>
    private static readonly (string Method, string Path, string? Body, string[] Fields)[] s_endpoints =
    [
        ("post", "/api/publish", """{"channel":"chat/doc","data":{"n":1},"idempotencyKey":"doc-1"}""", ["channel", "data", "binary", "idempotencyKey"]),
        ("get", "/api/history?channel=chat/doc", null, []),
        ("post", "/api/disconnect", """{"user":"nobody","code":4500,"reason":"bye"}""", ["user", "session", "code", "reason", "reconnect"]),
        ("post", "/api/unsubscribe", """{"user":"nobody","channel":"chat/doc","code":"kicked","reason":"x"}""", ["user", "session", "channel", "code", "reason"]),
        ("post", "/api/subscribe", """{"user":"nobody","channel":"chat/doc"}""", ["user", "session", "channel"]),
        ("post", "/api/broadcast", """{"channels":["chat/doc","chat/doc2"],"data":1}""", ["channels", "data", "binary", "idempotencyKey"]),
        ("get", "/api/channels?pattern=chat/*", null, []),
        ("get", "/api/info", null, []),
        ("get", "/api/presence?channel=chat/doc", null, []),
        ("get", "/api/presence_stats?channel=chat/doc", null, []),
    ];

    [Fact]
    public async Task The_document_describes_every_server_api_endpoint_as_it_answers()
    {
        await using var host = await HostProcess.StartAsync(new Dictionary<string, string>
        {
            ["PubSub__ApiKey"] = Key,
            ["PubSub__Channels__0__Template"] = "chat/{room}",
            ["PubSub__Channels__0__HistorySize"] = "10",
            ["PubSub__Channels__0__HistoryTtl"] = "00:05:00",
            // As an appsettings.json template says "Presence": true.
            ["PubSub__Channels__0__Presence"] = "true",
        });
        using var http = new HttpClient { BaseAddress = host.BaseUri, Timeout = Timeouts.Default };

        var text = await http.GetStringAsync("openapi/v1.json");
        var document = JsonSerializer.Deserialize<JsonElement>(text);
        var paths = document.GetProperty("paths");
        var schemas = document.GetProperty("components").GetProperty("schemas");

        Assert.Equal(s_endpoints.Select(e => e.Path.Split('?')[0]).Order(), paths.EnumerateObject().Select(p => p.Name).Order());
        // Every call needs the key in X-API-Key, as the document's one security requirement says (and the calls below check).
        var scheme = document.GetProperty("components").GetProperty("securitySchemes").GetProperty("apiKey");
        Assert.Equal(("apiKey", "header", "X-API-Key"), (scheme.GetProperty("type").GetString(), scheme.GetProperty("in").GetString(), scheme.GetProperty("name").GetString()));
        Assert.Equal("apiKey", Assert.Single(Assert.Single(document.GetProperty("security").EnumerateArray()).EnumerateObject()).Name);
        foreach (var (method, path, body, fields) in s_endpoints)
        {
            var operation = paths.GetProperty(path.Split('?')[0]).GetProperty(method);
            var responses = operation.GetProperty("responses");
            foreach (var status in new[] { "200", "400", "401", "403", "503" })
            {
                Assert.True(responses.TryGetProperty(status, out var response), $"{method} {path}: no {status} response");
                Assert.True(response.GetProperty("content").TryGetProperty("application/json", out _), $"{method} {path} {status}: not JSON");
            }
            if (body is not null)
            {
                var schema = Resolve(schemas, operation.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema"));
                var properties = schema.GetProperty("properties").EnumerateObject().Select(p => p.Name).ToList();
                Assert.Equal(fields.Order(), properties.Order());
                // The call below uses only what the schema describes.
                Assert.All(JsonSerializer.Deserialize<JsonElement>(body).EnumerateObject(), p => Assert.Contains(p.Name, properties));
            }
            else
            {
                var query = path.Contains('?', StringComparison.Ordinal) ? path.Split('?')[1].Split('=')[0] : null;
                if (query is not null)
                {
                    Assert.Contains(operation.GetProperty("parameters").EnumerateArray(), p => p.GetProperty("name").GetString() == query && p.GetProperty("in").GetString() == "query");
                }
            }

            using var call = new HttpRequestMessage(new HttpMethod(method.ToUpperInvariant()), path.TrimStart('/'));
            if (body is not null)
            {
                call.Content = new StringContent(body, Encoding.UTF8, "application/json");
            }
            call.Headers.Add("X-API-Key", Key);
            using var answer = await http.SendAsync(call);
            Assert.True(answer.StatusCode == HttpStatusCode.OK, $"{method} {path}: {(int)answer.StatusCode} {await answer.Content.ReadAsStringAsync()}");
            var answerSchema = Resolve(schemas, responses.GetProperty("200").GetProperty("content").GetProperty("application/json").GetProperty("schema"));
            var answered = JsonSerializer.Deserialize<JsonElement>(await answer.Content.ReadAsStringAsync());
            var described = answerSchema.GetProperty("properties").EnumerateObject().Select(p => p.Name).ToList();
            Assert.All(answered.EnumerateObject(), p => Assert.Contains(p.Name, described));

            using var unauthorized = new HttpRequestMessage(new HttpMethod(method.ToUpperInvariant()), path.TrimStart('/'));
            if (body is not null)
            {
                unauthorized.Content = new StringContent(body, Encoding.UTF8, "application/json");
            }
            using var refused = await http.SendAsync(unauthorized);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }
    }

    private static JsonElement Resolve(JsonElement schemas, JsonElement schema) =>
        schema.TryGetProperty("$ref", out var reference) ? schemas.GetProperty(reference.GetString()!.Split('/')[^1]) : schema;
}
