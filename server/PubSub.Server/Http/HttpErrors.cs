using System.Text.Json;
using Microsoft.AspNetCore.Http;
using PubSub.Protocol;

namespace PubSub.Http;

/// <summary>Error responses of the HTTP endpoints: <c>{"error":{"code","message"}}</c> (docs/protocol.md, section 3.7).</summary>
internal static class HttpErrors
{
    public static int StatusOf(string code) => code switch
    {
        PubSubErrorCodes.BadRequest or PubSubErrorCodes.InvalidChannel or PubSubErrorCodes.UnknownType or PubSubErrorCodes.TooManySubscriptions => StatusCodes.Status400BadRequest,
        PubSubErrorCodes.Unauthorized => StatusCodes.Status401Unauthorized,
        PubSubErrorCodes.UnknownChannel or PubSubErrorCodes.SessionNotFound => StatusCodes.Status404NotFound,
        PubSubErrorCodes.EpochMismatch => StatusCodes.Status409Conflict,
        PubSubErrorCodes.MessageTooLarge => StatusCodes.Status413PayloadTooLarge,
        PubSubErrorCodes.TooManyConnections or PubSubErrorCodes.RateLimited => StatusCodes.Status429TooManyRequests,
        PubSubErrorCodes.Unavailable or PubSubErrorCodes.OverCapacity => StatusCodes.Status503ServiceUnavailable,
        PubSubErrorCodes.Timeout => StatusCodes.Status504GatewayTimeout,
        PubSubErrorCodes.Internal => StatusCodes.Status500InternalServerError,
        // Forbidden, and the codes application hooks choose.
        _ => StatusCodes.Status403Forbidden,
    };

    public static Task WriteAsync(HttpContext context, PubSubException error) =>
        WriteAsync(context, StatusOf(error.Code), error.Code, error.Message);

    public static Task WriteAsync(HttpContext context, string code, string message) =>
        WriteAsync(context, StatusOf(code), code, message);

    public static async Task WriteAsync(HttpContext context, int status, string code, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        await using var writer = new Utf8JsonWriter(context.Response.Body, ServerFrames.WriterOptions);
        WriteBody(writer, code, message);
    }

    /// <summary>The body of every HTTP error: <c>{"error":{"code":...,"message":...}}</c>.</summary>
    public static void WriteBody(Utf8JsonWriter writer, string code, string message)
    {
        writer.WriteStartObject();
        writer.WriteStartObject("error"u8);
        writer.WriteString("code"u8, code);
        writer.WriteString("message"u8, message);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }
}
