using System.Globalization;
using System.Net;
using PubSub.Bench.Clients;
using PubSub.Bench.Scenarios;

namespace PubSub.Bench;

/// <summary>The command line of <c>PubSub.Bench run</c>; every knob has a bounded default.</summary>
public sealed class BenchSettings
{
    public const string Usage = """
        PubSub.Bench run --scenario S --target T --url U [options]
          --scenario     fanout | channels | publish-heavy | transports | crossnode | idle | storm
          --target       pubsub | signalr | raw (bench/RawReference: WebSocket fan-out only)
          --url          server base address, e.g. http://127.0.0.1:5101; repeat it for several
                         nodes (crossnode): subscribers alternate between them, the publisher
                         uses the first, and the nodes must share a broker
          --path         endpoint path (default /pubsub for pubsub, /hub for signalr)
          --server-pid   server process id, for CPU and memory from /proc (repeat per node)
          --diag         read {url}/debug/memory (the servers' Diagnostics:Enabled endpoint)
          --transport    ws | sse | poll (fanout, channels, crossnode; default ws)
          --encoding     json | msgpack: the server's MessagePack protocol (WebSocket only;
                         PubSub's pubsub.msgpack, SignalR's MessagePack hub protocol)
          --deflate      WebSocket connections offer permessage-deflate
          --subscribers  subscriber connections (default 1000)
          --channels     channels, subscribers spread evenly (channels, publish-heavy; default =
                         subscribers, for publish-heavy subscribers / 10)
          --publishers   publisher connections; publication n goes out on publisher n mod N, and
                         the channel count must be a multiple of N so each channel keeps one
                         publisher (default 1; publish-heavy: one per channel)
          --size         payload bytes, a JSON string, quotes included (default 100, min 32)
          --rate         publications/s offered; --rates 50,100,200 runs a sweep (default 200)
          --warmup --duration --drain   seconds (default 3, 10, 5)
          --connections  idle connections (idle; default 10000)
          --hold         seconds to hold idle connections open (default 5)
          --sources      bind connections to this many source addresses 127.0.1.x
                         (default: enough for 25,000 connections each; 0 below that)
          --subscribe    idle connections each subscribe to their own channel
          --concurrency  connections opened at once (default 64)
          --presence-reads N   pubsub: before publishing, N timed reads each of {api}/presence_stats
                         and {api}/presence for the first channel (needs --api-key)
          --api-key K    the server API key (PubSub:ApiKey) for --presence-reads
          --churn R      pubsub: R sessions a second subscribe to the first channel and close
                         again while the publisher runs (joins and leaves on a busy channel)
          storm (pubsub only): --subscribers SDK clients, half on each of two --url nodes sharing a
                         Redis broker (the surviving node first), on --channels [100] channels,
                         --subscriptions [5] each; publishes at --rate through the first node,
                         kills --kill-pid (the second node) with SIGKILL after --warmup, publishes
                         --duration more, and waits up to --drain for every delivery
          --kill-pid P   storm: the process of the second node, killed with SIGKILL
          --redis-pid P  storm: redis-server's process, for its CPU during the storm
          --curve FILE   storm: the 100 ms curve (reconnected, recovered, connects/s, CPU) as CSV,
                         and drawn beside it as FILE with .svg
          --label        free text stored with the results
          --csv FILE     append results as CSV;  --json FILE  append results as JSON lines
        PubSub.Bench compare --csv FILE     ratios of pubsub to signalr for matching runs
        PubSub.Bench plot --csv FILE --out FILE.svg [--scenario fanout]   latency against offered rate
        """;

    public string Scenario { get; private set; } = "fanout";
    public string Target { get; private set; } = "pubsub";
    public List<Uri> Urls { get; } = [];
    public string? Path { get; private set; }
    public List<int> ServerPids { get; } = [];
    public bool Diagnostics { get; private set; }
    public BenchTransport Transport { get; private set; } = BenchTransport.WebSocket;
    public bool MessagePack { get; private set; }
    public bool Deflate { get; private set; }
    public int Subscribers { get; private set; } = 1000;
    public int? Channels { get; private set; }
    public int? Publishers { get; private set; }
    public int PayloadSize { get; private set; } = 100;
    public List<double> Rates { get; } = [];
    public TimeSpan Warmup { get; private set; } = TimeSpan.FromSeconds(3);
    public TimeSpan Duration { get; private set; } = TimeSpan.FromSeconds(10);
    public TimeSpan Drain { get; private set; } = TimeSpan.FromSeconds(5);
    public int Connections { get; private set; } = 10_000;
    public TimeSpan Hold { get; private set; } = TimeSpan.FromSeconds(5);
    public int? Sources { get; private set; }
    public bool IdleSubscribe { get; private set; }
    public int Concurrency { get; private set; } = 64;
    public int PresenceReads { get; private set; }
    public string? ApiKey { get; private set; }
    public double Churn { get; private set; }
    public int Subscriptions { get; private set; } = 5;
    public int? KillPid { get; private set; }
    public int? RedisPid { get; private set; }
    public string? CurvePath { get; private set; }
    public string Label { get; private set; } = "";
    public string? CsvPath { get; private set; }
    public string? JsonPath { get; private set; }
    public string? OutPath { get; private set; }

    /// <summary>Per-run bounds: nothing a command line says may run for hours or open a million sockets.</summary>
    private static readonly TimeSpan MaxPhase = TimeSpan.FromMinutes(10);
    private const int MaxConnections = 200_000;

    public static BenchSettings Parse(IReadOnlyList<string> args)
    {
        var settings = new BenchSettings();
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{name} needs a value.");
            switch (name)
            {
                case "--scenario": settings.Scenario = Value(); break;
                case "--target": settings.Target = Value(); break;
                case "--url": settings.Urls.Add(ParseUrl(Value())); break;
                case "--path": settings.Path = Value(); break;
                case "--server-pid": settings.ServerPids.Add(int.Parse(Value(), CultureInfo.InvariantCulture)); break;
                case "--diag": settings.Diagnostics = true; break;
                case "--transport": settings.Transport = ParseTransport(Value()); break;
                case "--encoding": settings.MessagePack = ParseEncoding(Value()); break;
                case "--deflate": settings.Deflate = true; break;
                case "--subscribers": settings.Subscribers = PositiveInt(name, Value(), MaxConnections); break;
                case "--channels": settings.Channels = PositiveInt(name, Value(), MaxConnections); break;
                case "--publishers": settings.Publishers = PositiveInt(name, Value(), MaxConnections); break;
                case "--size": settings.PayloadSize = PositiveInt(name, Value(), 1 << 20); break;
                case "--rate": settings.Rates.Add(PositiveDouble(name, Value())); break;
                case "--rates":
                    settings.Rates.AddRange(Value().Split(',', StringSplitOptions.RemoveEmptyEntries).Select(r => PositiveDouble(name, r)));
                    break;
                case "--warmup": settings.Warmup = Seconds(name, Value(), allowZero: true); break;
                case "--duration": settings.Duration = Seconds(name, Value(), allowZero: false); break;
                case "--drain": settings.Drain = Seconds(name, Value(), allowZero: true); break;
                case "--connections": settings.Connections = PositiveInt(name, Value(), MaxConnections); break;
                case "--hold": settings.Hold = Seconds(name, Value(), allowZero: true); break;
                case "--sources": settings.Sources = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--subscribe": settings.IdleSubscribe = true; break;
                case "--concurrency": settings.Concurrency = PositiveInt(name, Value(), 4096); break;
                case "--presence-reads": settings.PresenceReads = PositiveInt(name, Value(), 100_000); break;
                case "--api-key": settings.ApiKey = Value(); break;
                case "--churn": settings.Churn = PositiveDouble(name, Value()); break;
                case "--subscriptions": settings.Subscriptions = PositiveInt(name, Value(), 1000); break;
                case "--kill-pid": settings.KillPid = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--redis-pid": settings.RedisPid = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--curve": settings.CurvePath = Value(); break;
                case "--label": settings.Label = Value(); break;
                case "--csv": settings.CsvPath = Value(); break;
                case "--json": settings.JsonPath = Value(); break;
                case "--out": settings.OutPath = Value(); break;
                default: throw new ArgumentException($"Unknown option '{name}'.");
            }
        }
        if (settings.Rates.Count == 0)
        {
            settings.Rates.Add(200);
        }
        if (settings.PayloadSize < BenchPayload.MinimumSize)
        {
            throw new ArgumentException($"--size must be at least {BenchPayload.MinimumSize}.");
        }
        return settings;
    }

    /// <summary>Checks what a run needs; the commands compare and plot need less.</summary>
    public void ValidateForRun()
    {
        if (Urls.Count == 0)
        {
            throw new ArgumentException("--url is required.");
        }
        var channels = ChannelCount;
        if (Subscribers % channels != 0)
        {
            throw new ArgumentException($"--subscribers ({Subscribers}) must be a multiple of --channels ({channels}) so every channel has as many subscribers.");
        }
        if (channels % PublisherCount != 0)
        {
            throw new ArgumentException($"--channels ({channels}) must be a multiple of --publishers ({PublisherCount}): a channel with two publishers has no order to check.");
        }
        if (Scenario == "storm" && (Target != "pubsub" || Urls.Count != 2 || KillPid is null))
        {
            throw new ArgumentException("storm is for pubsub only (it recovers through PubSub's SDK) and needs two --url and --kill-pid.");
        }
        if ((PresenceReads > 0 || Churn > 0) && Target != "pubsub")
        {
            throw new ArgumentException("--presence-reads and --churn are for pubsub runs only (SignalR has no presence).");
        }
        if (PresenceReads > 0 && ApiKey is null)
        {
            throw new ArgumentException("--presence-reads needs --api-key.");
        }
        if ((MessagePack || Deflate) && (Transport != BenchTransport.WebSocket || Scenario == "transports"))
        {
            throw new ArgumentException("--encoding msgpack and --deflate are for WebSocket runs only.");
        }
    }

    /// <summary>
    /// Channels the subscribers are spread over: one for fan-out, as many as subscribers for
    /// many-channels, ten subscribers a channel for publish-heavy, 100 busy channels for the storm.
    /// </summary>
    public int ChannelCount => Scenario switch
    {
        "channels" => Channels ?? Subscribers,
        "publish-heavy" => Channels ?? Math.Max(1, Subscribers / 10),
        "storm" => Channels ?? 100,
        _ => 1,
    };

    /// <summary>Publisher connections: one, or for publish-heavy one per channel (each client publishes to its own channel).</summary>
    public int PublisherCount => Publishers ?? (Scenario == "publish-heavy" ? ChannelCount : 1);

    /// <summary>Source addresses to bind connections to: none unless needed (or asked), then 127.0.1.1, 127.0.1.2, …</summary>
    public IReadOnlyList<IPAddress?> SourceAddresses(int connections)
    {
        var count = Sources ?? (connections > 25_000 ? (connections + 24_999) / 25_000 : 0);
        if (count <= 0)
        {
            return [null];
        }
        return Enumerable.Range(1, count).Select(i => (IPAddress?)new IPAddress([127, 0, 1, (byte)i])).ToArray();
    }

    private static Uri ParseUrl(string value)
    {
        var uri = new Uri(value.EndsWith('/') ? value : value + "/");
        // Loads go to this machine only (docs/benchmarks.md).
        if (!IPAddress.TryParse(uri.Host, out var address) || !IPAddress.IsLoopback(address))
        {
            throw new ArgumentException($"--url must be a loopback address such as http://127.0.0.1:5101, not '{value}'.");
        }
        return uri;
    }

    private static bool ParseEncoding(string value) => value switch
    {
        "json" => false,
        "msgpack" => true,
        _ => throw new ArgumentException($"Unknown encoding '{value}': use json or msgpack."),
    };

    /// <summary>
    /// How results name the transport: the encoding and compression join it (<c>ws/msgpack+deflate</c>),
    /// so runs that differ only in them are compared with their own kind.
    /// </summary>
    public string TransportLabel(BenchTransport transport) =>
        Names.Of(transport) + (MessagePack ? "/msgpack" : "") + (Deflate ? "+deflate" : "");

    private static BenchTransport ParseTransport(string value) => value switch
    {
        "ws" or "websocket" => BenchTransport.WebSocket,
        "sse" => BenchTransport.Sse,
        "poll" or "long-polling" => BenchTransport.LongPolling,
        _ => throw new ArgumentException($"Unknown transport '{value}': use ws, sse or poll."),
    };

    private static int PositiveInt(string name, string value, int max)
    {
        var parsed = int.Parse(value, CultureInfo.InvariantCulture);
        return parsed > 0 && parsed <= max ? parsed : throw new ArgumentException($"{name} must be between 1 and {max}.");
    }

    private static double PositiveDouble(string name, string value)
    {
        var parsed = double.Parse(value, CultureInfo.InvariantCulture);
        return parsed > 0 && parsed <= 1_000_000 ? parsed : throw new ArgumentException($"{name} must be between 0 and 1,000,000.");
    }

    private static TimeSpan Seconds(string name, string value, bool allowZero)
    {
        var seconds = double.Parse(value, CultureInfo.InvariantCulture);
        var span = TimeSpan.FromSeconds(seconds);
        return (seconds > 0 || (allowZero && seconds == 0)) && span <= MaxPhase
            ? span
            : throw new ArgumentException($"{name} must be {(allowZero ? "0" : "more than 0")} to {MaxPhase.TotalSeconds} seconds.");
    }
}
