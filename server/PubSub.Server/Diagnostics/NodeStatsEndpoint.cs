using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace PubSub.Diagnostics;

/// <summary>
/// <c>GET</c> of the node's snapshot as JSON (docs/deployment.md, "Dashboard", shows the shape);
/// <c>?channels=N</c> asks for fewer channels than the endpoint's limit. Never cached: a dashboard
/// polls it and computes rates from the totals and <c>uptimeMs</c>, the node's own clock.
/// </summary>
internal sealed class NodeStatsEndpoint(NodeSnapshot snapshot, int maxChannels)
{
    /// <summary>
    /// What a node can say about other nodes today: nothing; the brokers keep no list of live
    /// nodes that could be read cheaply. A dashboard shows this so no one takes one node for all.
    /// </summary>
    public const string NodesScope = "this-node";

    public async Task HandleAsync(HttpContext context)
    {
        var channels = maxChannels;
        if (int.TryParse(context.Request.Query["channels"], NumberStyles.None, CultureInfo.InvariantCulture, out var asked))
        {
            channels = Math.Min(asked, maxChannels);
        }
        var stats = await snapshot.TakeAsync(channels, context.RequestAborted);

        var response = context.Response;
        response.ContentType = "application/json; charset=utf-8";
        response.Headers.CacheControl = "no-store";
        await using var writer = new Utf8JsonWriter(response.Body);
        writer.WriteStartObject();
        writer.WriteStartObject("node"u8);
        writer.WriteString("id"u8, stats.NodeId);
        writer.WriteString("broker"u8, stats.Broker);
        writer.WriteString("startedAt"u8, stats.StartedAt);
        writer.WriteNumber("uptimeMs"u8, (long)stats.Uptime.TotalMilliseconds);
        writer.WriteBoolean("ready"u8, stats.NotReadyReason is null);
        if (stats.NotReadyReason is { } reason)
        {
            writer.WriteString("notReadyReason"u8, reason);
        }
        writer.WriteEndObject();

        writer.WriteStartObject("nodes"u8);
        writer.WriteString("scope"u8, NodesScope);
        writer.WriteStartArray("ids"u8);
        writer.WriteStringValue(stats.NodeId);
        writer.WriteEndArray();
        writer.WriteEndObject();

        writer.WriteStartObject("sessions"u8);
        writer.WriteNumber("total"u8, stats.Sessions);
        writer.WriteStartObject("byTransport"u8);
        foreach (var (transport, count) in stats.SessionsByTransport)
        {
            writer.WriteNumber(transport, count);
        }
        writer.WriteEndObject();
        writer.WriteEndObject();

        writer.WriteStartObject("channels"u8);
        writer.WriteNumber("total"u8, stats.Channels);
        writer.WriteNumber("subscriptions"u8, stats.Subscriptions);
        writer.WriteNumber("limit"u8, channels);
        writer.WriteStartArray("top"u8);
        foreach (var (channel, subscribers) in stats.TopChannels)
        {
            writer.WriteStartObject();
            writer.WriteString("name"u8, channel);
            writer.WriteNumber("subscribers"u8, subscribers);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteEndObject();

        writer.WriteStartObject("totals"u8);
        writer.WriteNumber("publications"u8, stats.Publications);
        writer.WriteNumber("deliveries"u8, stats.Deliveries);
        writer.WriteNumber("bytesSent"u8, stats.BytesSent);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }
}
