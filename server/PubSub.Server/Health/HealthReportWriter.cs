using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using PubSub.Protocol;

namespace PubSub.Health;

/// <summary>
/// A health answer as JSON, so an operator (or a balancer's log) sees why a node is not ready:
/// <c>{"status":"Unhealthy","checks":{"pubsub-broker":{"status":"Unhealthy","reason":"Redis ... is unreachable."}}}</c>.
/// </summary>
internal static class HealthReportWriter
{
    public static async Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        await using var writer = new Utf8JsonWriter(context.Response.Body, ServerFrames.WriterOptions);
        writer.WriteStartObject();
        writer.WriteString("status"u8, report.Status.ToString());
        writer.WriteStartObject("checks"u8);
        foreach (var (name, entry) in report.Entries)
        {
            writer.WriteStartObject(name);
            writer.WriteString("status"u8, entry.Status.ToString());
            if (entry.Description is { } reason)
            {
                writer.WriteString("reason"u8, reason);
            }
            writer.WriteEndObject();
        }
        writer.WriteEndObject();
        writer.WriteEndObject();
    }
}
