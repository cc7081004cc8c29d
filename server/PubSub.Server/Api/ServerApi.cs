using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using PubSub.Channels;
using PubSub.Http;
using PubSub.Protocol;

namespace PubSub.Api;

/// <summary>
/// The server API for back-end publishers (docs/protocol.md, section 4): <c>POST publish</c> and
/// <c>GET history</c>, guarded by the API key, an authorization policy on the endpoints, or both.
/// </summary>
internal sealed class ServerApi
{
    public const string ApiKeyHeader = ApiKeyGuard.ApiKeyHeader;

    private readonly ChannelPublisher _publisher;
    private readonly RequestBodyReader _bodies;
    private readonly ApiKeyGuard _guard;

    public ServerApi(ChannelPublisher publisher, ApiKeyGuard guard, RequestBodyReader bodies)
    {
        _publisher = publisher;
        _bodies = bodies;
        _guard = guard;
    }

    public async Task PublishAsync(HttpContext context)
    {
        if (!await AuthorizeAsync(context))
        {
            return;
        }
        if (await _bodies.ReadAsync(context, "The body") is not { } body)
        {
            return;
        }
        if (!TryParsePublish(body, out var channel, out var data, out var idempotencyKey, out var problem))
        {
            await HttpErrors.WriteAsync(context, PubSubErrorCodes.BadRequest, problem);
            return;
        }
        try
        {
            var position = await _publisher.PublishAsync(channel, data, idempotencyKey, ChannelPublisher.Api, context.RequestAborted);
            await WriteJsonAsync(context, writer =>
            {
                writer.WriteStartObject();
                ServerFrames.WritePosition(writer, position);
                writer.WriteEndObject();
            });
        }
        catch (PubSubException e)
        {
            await HttpErrors.WriteAsync(context, e);
        }
    }

    public async Task HistoryAsync(HttpContext context)
    {
        if (!await AuthorizeAsync(context))
        {
            return;
        }
        var query = context.Request.Query;
        var channel = query["channel"].ToString();
        var epoch = query["epoch"].ToString();
        var offsetText = query["offset"].ToString();
        var limitText = query["limit"].ToString();

        StreamPosition? since = null;
        if (epoch.Length > 0 || offsetText.Length > 0)
        {
            if (epoch.Length == 0 || !long.TryParse(offsetText, NumberStyles.None, CultureInfo.InvariantCulture, out var offset) || !StreamPosition.IsValidOffset(offset))
            {
                await HttpErrors.WriteAsync(context, PubSubErrorCodes.BadRequest, "'epoch' and 'offset' (an integer from 0 to 2^53-1) go together.");
                return;
            }
            since = new StreamPosition(offset, epoch);
        }
        var limit = ClientFrameParser.DefaultHistoryLimit;
        if (limitText.Length > 0
            && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > ClientFrameParser.MaxHistoryLimit))
        {
            await HttpErrors.WriteAsync(context, PubSubErrorCodes.BadRequest, $"'limit' must be an integer from 1 to {ClientFrameParser.MaxHistoryLimit}.");
            return;
        }

        try
        {
            var page = await _publisher.GetHistoryAsync(channel, since, limit, context.RequestAborted);
            await WriteJsonAsync(context, writer => ServerFrames.WriteHistory(writer, page));
        }
        catch (PubSubException e)
        {
            await HttpErrors.WriteAsync(context, e);
        }
    }

    private Task<bool> AuthorizeAsync(HttpContext context) =>
        _guard.AuthorizeAsync(context, "The server API is closed: configure PubSub:ApiKey, or put an authorization policy on MapPubSubApi().");

    private static bool TryParsePublish(byte[] body, out string channel, out Payload data, out string? idempotencyKey, out string problem)
    {
        channel = "";
        data = default;
        idempotencyKey = null;
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                problem = "The body must be a JSON object {\"channel\": ..., \"data\": ...}.";
                return false;
            }
            if (!root.TryGetProperty("channel", out var channelElement) || channelElement.ValueKind != JsonValueKind.String)
            {
                problem = "'channel' must be a string.";
                return false;
            }
            if (!TryGetString(channelElement, out channel))
            {
                problem = "'channel' is not valid Unicode: it holds an escaped lone surrogate.";
                return false;
            }
            if (!TryReadIdempotencyKey(root, out idempotencyKey, out problem))
            {
                return false;
            }
            var hasData = root.TryGetProperty("data", out var dataElement);
            var hasBinary = root.TryGetProperty("binary", out var binaryElement);
            if (hasData == hasBinary)
            {
                problem = "The body needs exactly one of 'data' and 'binary'.";
                return false;
            }
            if (hasBinary)
            {
                if (binaryElement.ValueKind != JsonValueKind.String || !binaryElement.TryGetBytesFromBase64(out var bytes))
                {
                    problem = "'binary' must be a base64 string.";
                    return false;
                }
                data = Payload.FromBinary(bytes);
            }
            else
            {
                data = Payload.FromJson(dataElement);
            }
            problem = "";
            return true;
        }
        catch (JsonException)
        {
            problem = "The body is not valid JSON.";
            return false;
        }
        catch (ArgumentException e)
        {
            // Payload.FromJson: the data is not valid Unicode.
            problem = $"'data' is refused: {e.Message}";
            return false;
        }
    }

    /// <summary>The optional <c>idempotencyKey</c> of a publish body: a string of 1 to 128 characters.</summary>
    internal static bool TryReadIdempotencyKey(JsonElement root, out string? key, out string problem)
    {
        key = null;
        problem = "";
        if (!root.TryGetProperty("idempotencyKey", out var element))
        {
            return true;
        }
        if (element.ValueKind != JsonValueKind.String || !TryGetString(element, out var value) || !IdempotencyKey.IsValid(value))
        {
            problem = $"'idempotencyKey' must be a string of 1 to {IdempotencyKey.MaxLength} characters.";
            return false;
        }
        key = value;
        return true;
    }

    internal static bool TryGetString(JsonElement element, out string value)
    {
        try
        {
            value = element.GetString()!;
            return true;
        }
        catch (InvalidOperationException)
        {
            // Escapes that make no UTF-16 text ("\ud800").
            value = "";
            return false;
        }
    }

    private static async Task WriteJsonAsync(HttpContext context, Action<Utf8JsonWriter> write)
    {
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        await using var writer = new Utf8JsonWriter(context.Response.Body, ServerFrames.WriterOptions);
        write(writer);
    }
}
