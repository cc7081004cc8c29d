using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace PubSub.Diagnostics;

/// <summary>
/// <c>GET</c> of the node's snapshot as JSON (docs/deployment.md, "Dashboard", shows the shape);
/// <c>?channels=N</c> asks for fewer channels than the endpoint's limit. Never cached: a dashboard
/// polls it and computes rates from the totals and <c>uptimeMs</c>, the node's own clock. The
/// node list and a cluster-wide channel list come from the control plane, so any node's
/// dashboard shows the deployment; the sessions, counts and totals stay this node's.
/// </summary>
internal sealed class NodeStatsEndpoint(NodeSnapshot snapshot, IPubSubControl control, int maxChannels)
{
    /// <summary>The nodes listed are the live ones that answered the control plane's <c>info</c>.</summary>
    public const string ClusterScope = "cluster";

    /// <summary>
    /// The control plane could not be asked (the broker is unreachable): the node lists itself
    /// only, and a dashboard says so, so no one takes one node for all.
    /// </summary>
    public const string ThisNodeScope = "this-node";

    public async Task HandleAsync(HttpContext context)
    {
        var channels = maxChannels;
        if (int.TryParse(context.Request.Query["channels"], NumberStyles.None, CultureInfo.InvariantCulture, out var asked))
        {
            channels = Math.Min(asked, maxChannels);
        }
        var stats = await snapshot.TakeAsync(channels, context.RequestAborted);
        var (cluster, clusterChannels) = await AskClusterAsync(context.RequestAborted);

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

        WriteNodes(writer, stats.NodeId, cluster);

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
        if (clusterChannels is not null)
        {
            WriteClusterChannels(writer, clusterChannels, channels);
        }
        writer.WriteEndObject();

        writer.WriteStartObject("totals"u8);
        writer.WriteNumber("publications"u8, stats.Publications);
        writer.WriteNumber("deliveries"u8, stats.Deliveries);
        writer.WriteNumber("bytesSent"u8, stats.BytesSent);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }
    /// <summary>The live nodes and the channels on all of them; nulls when the broker cannot be reached.</summary>
    private async Task<(ClusterInfo?, ChannelsResult?)> AskClusterAsync(CancellationToken cancellationToken)
    {
        try
        {
            var info = await control.InfoAsync(cancellationToken);
            var list = await control.ChannelsAsync(pattern: null, cancellationToken);
            return (info, list);
        }
        catch (PubSubException)
        {
            return (null, null);
        }
    }

    private static void WriteNodes(Utf8JsonWriter writer, string self, ClusterInfo? cluster)
    {
        writer.WriteStartObject("nodes"u8);
        writer.WriteString("scope"u8, cluster is null ? ThisNodeScope : ClusterScope);
        writer.WriteStartArray("ids"u8);
        if (cluster is null)
        {
            writer.WriteStringValue(self);
        }
        else
        {
            foreach (var node in cluster.Nodes)
            {
                writer.WriteStringValue(node.NodeId);
            }
        }
        writer.WriteEndArray();
        if (cluster is not null)
        {
            writer.WriteStartArray("list"u8);
            foreach (var node in cluster.Nodes)
            {
                writer.WriteStartObject();
                writer.WriteString("id"u8, node.NodeId);
                writer.WriteNumber("uptimeMs"u8, (long)node.Uptime.TotalMilliseconds);
                writer.WriteNumber("sessions"u8, node.Sessions.Values.Sum());
                writer.WriteNumber("channels"u8, node.Channels);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteStartArray("unanswered"u8);
            foreach (var node in cluster.UnansweredNodes)
            {
                writer.WriteStringValue(node);
            }
            writer.WriteEndArray();
        }
        writer.WriteEndObject();
    }

    /// <summary>
    /// The <paramref name="limit"/> channels with the most subscribers on all nodes together. The
    /// control plane lists the first 1,000 names in ordinal order, so past that (<c>truncated</c>)
    /// the busiest may be missing.
    /// </summary>
    private static void WriteClusterChannels(Utf8JsonWriter writer, ChannelsResult result, int limit)
    {
        writer.WriteStartObject("cluster"u8);
        writer.WriteNumber("total"u8, result.Channels.Count);
        writer.WriteBoolean("truncated"u8, result.Truncated);
        writer.WriteStartArray("top"u8);
        foreach (var channel in result.Channels.OrderByDescending(c => c.Subscribers).ThenBy(c => c.Channel, StringComparer.Ordinal).Take(limit))
        {
            writer.WriteStartObject();
            writer.WriteString("name"u8, channel.Channel);
            writer.WriteNumber("subscribers"u8, channel.Subscribers);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
    }
}
