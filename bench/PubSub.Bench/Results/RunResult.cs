using System.Globalization;
using System.Text;

namespace PubSub.Bench.Results;

/// <summary>
/// One run's figures. Delivery scenarios fill the delivery fields, idle fills the memory fields;
/// the rest stay null (an empty CSV cell). See docs/benchmarks.md for what each one means.
/// </summary>
public sealed class RunResult
{
    /// <summary>p99 under this, no loss, no disconnect and the offered rate achieved: the run was sustained (issue 6).</summary>
    public const double SustainedP99Ms = 100;

    public string Time { get; set; } = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
    public string Label { get; set; } = "";
    public string Scenario { get; set; } = "";
    public string Target { get; set; } = "";
    public string Transport { get; set; } = "";
    public int Nodes { get; set; } = 1;

    public int? Subscribers { get; set; }
    public int? Channels { get; set; }
    /// <summary>Publisher connections (publish-heavy: one per channel).</summary>
    public int? Publishers { get; set; }
    public int? PayloadBytes { get; set; }
    public double? OfferedRate { get; set; }
    public double? WindowSeconds { get; set; }
    public long? Published { get; set; }
    public double? AchievedRate { get; set; }
    public long? Expected { get; set; }
    public long? Delivered { get; set; }
    public long? Lost { get; set; }
    public long? OutOfOrder { get; set; }
    public int? Disconnects { get; set; }
    public long? Errors { get; set; }
    public double? DeliveriesPerSecond { get; set; }
    public double? P50Ms { get; set; }
    public double? P90Ms { get; set; }
    public double? P99Ms { get; set; }
    public double? MaxMs { get; set; }
    public double? MeanMs { get; set; }
    public double? PublisherLagMaxMs { get; set; }
    public double? DeliveriesPerMessage { get; set; }
    /// <summary>Bytes the subscribers read off the network per delivery: frames, WebSocket headers, compression (WebSocket only).</summary>
    public double? WireBytesPerDelivery { get; set; }
    public double? ServerCpuPercent { get; set; }
    public double? ServerCpuUsPerDelivery { get; set; }
    public double? ServerAllocBytesPerDelivery { get; set; }
    /// <summary>Garbage collections in the server(s) during the window and drain, and the time they paused it.</summary>
    public long? ServerGcCount { get; set; }
    public double? ServerGcPauseMs { get; set; }
    /// <summary>Time the server(s) spent in the JIT during the window and drain: tier-up still going on means the window measured warm-up.</summary>
    public double? ServerJitMs { get; set; }
    public double? GeneratorCpuPercent { get; set; }
    public double? GeneratorCpuUsPerDelivery { get; set; }
    public bool? Sustained { get; set; }

    public int? Connections { get; set; }
    public int? Opened { get; set; }
    public int? Failed { get; set; }
    public int? ClosedDuringHold { get; set; }
    public long? ServerRssBeforeBytes { get; set; }
    public long? ServerRssAfterBytes { get; set; }
    public double? ServerRssPerConnection { get; set; }
    public long? ServerHeapBeforeBytes { get; set; }
    public long? ServerHeapAfterBytes { get; set; }
    public double? ServerHeapPerConnection { get; set; }
    public double? GeneratorRssPerConnection { get; set; }
    public double? ServerIdleAllocBytesPerSecond { get; set; }

    /// <summary>Storm: the killed node's clients, and when (seconds after the kill) the last reconnected, half and all recovered.</summary>
    public int? StormVictims { get; set; }
    public double? StormReconnectedMaxS { get; set; }
    public double? StormRecoveredP50S { get; set; }
    public double? StormRecoveredMaxS { get; set; }
    /// <summary>Storm: the highest connects/s, surviving node CPU % and Redis CPU % in one 100 ms interval.</summary>
    public double? StormPeakConnectsPerSecond { get; set; }
    public double? StormPeakServerCpuPercent { get; set; }
    public double? StormPeakRedisCpuPercent { get; set; }
    /// <summary>Storm: history reads the surviving node made of Redis from the kill until every client had recovered.</summary>
    public long? StormHistoryReads { get; set; }

    public string Note { get; set; } = "";

    /// <summary>The columns of the CSV, in order; <see cref="ResultFiles"/> reads them back by name.</summary>
    public static readonly (string Name, Func<RunResult, object?> Get)[] Columns =
    [
        ("time", r => r.Time), ("label", r => r.Label), ("scenario", r => r.Scenario), ("target", r => r.Target),
        ("transport", r => r.Transport), ("nodes", r => r.Nodes), ("subscribers", r => r.Subscribers),
        ("channels", r => r.Channels), ("payload_bytes", r => r.PayloadBytes), ("offered_rate", r => r.OfferedRate),
        ("window_s", r => r.WindowSeconds), ("published", r => r.Published), ("achieved_rate", r => r.AchievedRate),
        ("expected", r => r.Expected), ("delivered", r => r.Delivered), ("lost", r => r.Lost),
        ("out_of_order", r => r.OutOfOrder), ("disconnects", r => r.Disconnects), ("errors", r => r.Errors),
        ("deliveries_per_s", r => r.DeliveriesPerSecond), ("p50_ms", r => r.P50Ms), ("p90_ms", r => r.P90Ms),
        ("p99_ms", r => r.P99Ms), ("max_ms", r => r.MaxMs), ("mean_ms", r => r.MeanMs),
        ("publisher_lag_max_ms", r => r.PublisherLagMaxMs), ("deliveries_per_message", r => r.DeliveriesPerMessage),
        ("wire_bytes_per_delivery", r => r.WireBytesPerDelivery), ("server_cpu_pct", r => r.ServerCpuPercent),
        ("server_cpu_us_per_delivery", r => r.ServerCpuUsPerDelivery),
        ("server_alloc_bytes_per_delivery", r => r.ServerAllocBytesPerDelivery),
        ("generator_cpu_pct", r => r.GeneratorCpuPercent), ("generator_cpu_us_per_delivery", r => r.GeneratorCpuUsPerDelivery),
        ("sustained", r => r.Sustained), ("connections", r => r.Connections), ("opened", r => r.Opened),
        ("failed", r => r.Failed), ("closed_during_hold", r => r.ClosedDuringHold),
        ("server_rss_before_bytes", r => r.ServerRssBeforeBytes), ("server_rss_after_bytes", r => r.ServerRssAfterBytes),
        ("server_rss_per_connection", r => r.ServerRssPerConnection),
        ("server_heap_before_bytes", r => r.ServerHeapBeforeBytes), ("server_heap_after_bytes", r => r.ServerHeapAfterBytes),
        ("server_heap_per_connection", r => r.ServerHeapPerConnection),
        ("generator_rss_per_connection", r => r.GeneratorRssPerConnection),
        ("server_idle_alloc_bytes_per_s", r => r.ServerIdleAllocBytesPerSecond),
        ("server_gc_count", r => r.ServerGcCount), ("server_gc_pause_ms", r => r.ServerGcPauseMs),
        ("server_jit_ms", r => r.ServerJitMs),
        ("publishers", r => r.Publishers), ("storm_victims", r => r.StormVictims),
        ("storm_reconnected_max_s", r => r.StormReconnectedMaxS), ("storm_recovered_p50_s", r => r.StormRecoveredP50S),
        ("storm_recovered_max_s", r => r.StormRecoveredMaxS), ("storm_peak_connects_per_s", r => r.StormPeakConnectsPerSecond),
        ("storm_peak_server_cpu_pct", r => r.StormPeakServerCpuPercent), ("storm_peak_redis_cpu_pct", r => r.StormPeakRedisCpuPercent),
        ("storm_history_reads", r => r.StormHistoryReads), ("note", r => r.Note),
    ];

    /// <summary>The one line a run prints.</summary>
    public string Summary()
    {
        var line = new StringBuilder();
        line.Append(CultureInfo.InvariantCulture, $"{Scenario,-10} {Target,-7} {Transport,-5}");
        if (StormVictims is { } victims)
        {
            line.Append(CultureInfo.InvariantCulture, $" clients={Subscribers} ch={Channels} rate={OfferedRate:0.#}/s | killed node's clients={victims}");
            line.Append(CultureInfo.InvariantCulture, $" reconnected by {StormReconnectedMaxS:0.00}s recovered p50={StormRecoveredP50S:0.00}s all={StormRecoveredMaxS:0.00}s");
            line.Append(CultureInfo.InvariantCulture, $" | peak {StormPeakConnectsPerSecond:0} connects/s srv cpu={StormPeakServerCpuPercent:0}% redis cpu={StormPeakRedisCpuPercent:0}% history reads={StormHistoryReads}");
            line.Append(CultureInfo.InvariantCulture, $" | delivered={Delivered}/{Expected} lost={Lost} dup={OutOfOrder} unrecovered={Errors} survivors reconnected={Disconnects}");
            line.Append(CultureInfo.InvariantCulture, $" | p50={P50Ms:0.00} p99={P99Ms:0.00} max={MaxMs:0.0} ms");
            line.Append(Sustained == true ? " | all recovered" : " | NOT all recovered");
        }
        else if (Connections is { } connections)
        {
            line.Append(CultureInfo.InvariantCulture, $" conns={Opened}/{connections} failed={Failed} closed={ClosedDuringHold}");
            line.Append(CultureInfo.InvariantCulture, $" server rss/conn={Bytes(ServerRssPerConnection)} heap/conn={Bytes(ServerHeapPerConnection)}");
            line.Append(CultureInfo.InvariantCulture, $" | held: srv cpu={ServerCpuPercent:0.0}% alloc={ServerIdleAllocBytesPerSecond:0}B/s");
            line.Append(CultureInfo.InvariantCulture, $" | gen rss/conn={Bytes(GeneratorRssPerConnection)}");
        }
        else
        {
            line.Append(CultureInfo.InvariantCulture, $" nodes={Nodes} subs={Subscribers} ch={Channels} pubs={Publishers} size={PayloadBytes} rate={OfferedRate:0.#}/s");
            line.Append(CultureInfo.InvariantCulture, $" | {DeliveriesPerSecond:0} deliv/s lost={Lost} ooo={OutOfOrder} disc={Disconnects} err={Errors}");
            line.Append(CultureInfo.InvariantCulture, $" | p50={P50Ms:0.00} p90={P90Ms:0.00} p99={P99Ms:0.00} max={MaxMs:0.0} ms");
            line.Append(CultureInfo.InvariantCulture, $" | srv cpu={ServerCpuPercent:0}% {ServerCpuUsPerDelivery:0.00}us/deliv alloc={ServerAllocBytesPerDelivery:0}B/deliv {DeliveriesPerMessage:0.0}deliv/msg wire={WireBytesPerDelivery:0}B/deliv gc={ServerGcCount}x/{ServerGcPauseMs:0}ms jit={ServerJitMs:0}ms");
            line.Append(CultureInfo.InvariantCulture, $" | gen cpu={GeneratorCpuPercent:0}% publag={PublisherLagMaxMs:0.0}ms");
            line.Append(Sustained == true ? " | sustained" : " | NOT sustained");
        }
        if (Note.Length > 0)
        {
            line.Append(" | ").Append(Note);
        }
        return line.ToString();
    }

    private static string Bytes(double? value) => value is { } v ? v.ToString("0", CultureInfo.InvariantCulture) + "B" : "-";
}
