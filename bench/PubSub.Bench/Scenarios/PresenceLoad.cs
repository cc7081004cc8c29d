using System.Diagnostics;
using System.Globalization;
using PubSub.Bench.Clients;
using PubSub.Bench.Measurement;

namespace PubSub.Bench.Scenarios;

/// <summary>
/// The presence parts of a PubSub run (docs/benchmarks.md, "Presence"): reads of a channel's
/// presence through the server API while its subscribers are members, and sessions that join and
/// leave the channel during the window, each costing every subscriber a join and a leave frame
/// (up to the node's JoinLeaveRate).
/// </summary>
public static class PresenceLoad
{
    /// <summary>
    /// <paramref name="reads"/> sequential GET {api}/presence_stats, then as many GET {api}/presence,
    /// timed one by one; any answer but 200 fails the run (a read that failed measured nothing).
    /// </summary>
    public static async Task<string> MeasureReadsAsync(HttpClient http, Uri server, string apiKey, string channel, int reads, CancellationToken cancellationToken)
    {
        var stats = await TimeAsync("presence_stats");
        var list = await TimeAsync("presence");
        return string.Create(CultureInfo.InvariantCulture,
            $"presence reads ({reads} each, sequential): presence_stats p50 {stats.Percentile(50) / 1000.0:0.###} ms p99 {stats.Percentile(99) / 1000.0:0.###} ms, "
            + $"presence p50 {list.Percentile(50) / 1000.0:0.###} ms p99 {list.Percentile(99) / 1000.0:0.###} ms");

        async Task<LatencyHistogram> TimeAsync(string endpoint)
        {
            var latency = new LatencyHistogram();
            var uri = new Uri(server, $"api/{endpoint}?channel={Uri.EscapeDataString(channel)}");
            for (var i = 0; i < reads; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, uri);
                request.Headers.Add("X-API-Key", apiKey);
                var started = Stopwatch.GetTimestamp();
                using var answer = await http.SendAsync(request, cancellationToken);
                var body = await answer.Content.ReadAsByteArrayAsync(cancellationToken);
                latency.Record((long)Stopwatch.GetElapsedTime(started).TotalMicroseconds);
                if (!answer.IsSuccessStatusCode)
                {
                    throw new InvalidOperationException($"GET {uri} answered {(int)answer.StatusCode}: {System.Text.Encoding.UTF8.GetString(body)}");
                }
            }
            return latency;
        }
    }

    /// <summary>
    /// Opens a WebSocket session subscribed to <paramref name="channel"/> and closes it again,
    /// <paramref name="perSecond"/> times a second, until <paramref name="until"/> completes. Their
    /// deliveries are not counted (a window of their own that never opens). Returns how many came and went.
    /// </summary>
    public static async Task<int> ChurnAsync(
        BenchTarget target, Uri server, string channel, double perSecond, HttpClient http, Task until, CancellationToken cancellationToken)
    {
        var interval = TimeSpan.FromSeconds(1 / perSecond);
        var uncounted = new SubscriberStats(new RunWindow());
        var started = Stopwatch.GetTimestamp();
        var sessions = 0;
        while (!until.IsCompleted)
        {
            var client = await target.OpenSubscriberAsync(server, BenchTransport.WebSocket, channel, null, uncounted, http, cancellationToken);
            await client.DisposeAsync();
            sessions++;
            var due = started + (long)(sessions * interval.TotalSeconds * Stopwatch.Frequency);
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
            if (wait > TimeSpan.Zero)
            {
                await Task.WhenAny(until, Task.Delay(wait, cancellationToken));
            }
        }
        return sessions;
    }
}
