using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using PubSub.Bench.Clients;
using PubSub.Bench.Measurement;
using PubSub.Bench.Results;
using PubSub.Client;

namespace PubSub.Bench.Scenarios;

/// <summary>
/// The reconnect storm (issue 17 target 4): clients of PubSub's own .NET SDK on two nodes that
/// share a Redis broker, each subscribed to several of the busy channels; one node is killed
/// with SIGKILL and its clients come back on the other and recover.
/// <list type="number">
/// <item>Open the clients, half preferring each node (<see cref="FailoverConnector"/> sends a
/// client whose node refuses to the other), each subscribed to <c>--subscriptions</c> channels.</item>
/// <item>Publish to the channels at the offered rate through the surviving node (the first
/// <c>--url</c>); publication n goes to channel n mod C.</item>
/// <item>After <c>--warmup</c>, kill the second node (<c>--kill-pid</c>). Every 100 ms, record
/// how many of its clients have reconnected and recovered, the connects made, and the CPU of the
/// surviving node and of Redis. A client has recovered once it is connected again and each of its
/// subscriptions delivered every publication sent before it reconnected.</item>
/// <item>Publishing ends <c>--duration</c> after the kill; then wait until every subscription
/// delivered every publication of its channel, or <c>--drain</c> ran out.</item>
/// </list>
/// Every subscription checks what its application sees: each publication of its channel exactly
/// once, in order, from the first one on.
/// </summary>
public sealed class StormScenario(BenchSettings settings, HttpClient http)
{
    public static readonly TimeSpan SampleInterval = TimeSpan.FromMilliseconds(100);

    private const string MetricsPath = "metrics";
    private const string HistoryReadSeries = "pubsub_broker_operation_duration_seconds_count{";
    private const string HistoryReadLabel = "pubsub_broker_operation=\"read\"";

    public async Task<RunResult> RunAsync(CancellationToken cancellationToken)
    {
        if (settings.Urls.Count != 2 || settings.KillPid is not { } killPid)
        {
            throw new ArgumentException("storm needs two --url (the surviving node first) and --kill-pid (the second node's process).");
        }
        var channelCount = settings.ChannelCount;
        var runId = Guid.NewGuid().ToString("N")[..6];
        var channels = Enumerable.Range(0, channelCount).Select(i => $"bench/{runId}-{i}").ToArray();
        var window = new RunWindow();
        var connector = new FailoverConnector(settings.Urls, settings.SourceAddresses(settings.Subscribers));
        var killed = new KillClock();
        PublisherRun? run = null;
        var clients = await DeliveryScenario.OpenAllAsync(
            settings.Subscribers,
            i => StormClient.OpenAsync(
                new Uri(settings.Urls[i % 2], "pubsub"),
                victim: i % 2 == 1,
                Enumerable.Range(0, settings.Subscriptions).Select(k => (i * settings.Subscriptions + k) % channelCount).Distinct().ToArray(),
                channels,
                connector,
                killed,
                () => run?.Sent ?? 0,
                window,
                cancellationToken),
            settings.Concurrency,
            cancellationToken);
        var publisher = (WebSocketClient)await BenchTarget.Create("pubsub", null).OpenAsync(settings.Urls[0], BenchTransport.WebSocket, null, http, cancellationToken);
        try
        {
            var writers = channels.Select(c => publisher.Protocol.CreatePublishWriter(c, settings.PayloadSize)).ToArray();
            run = new PublisherRun([publisher], writers, settings.Rates[0], TimeSpan.Zero, settings.Warmup + settings.Duration, window);
            new Thread(run.Run) { IsBackground = true, Name = "publisher", Priority = ThreadPriority.AboveNormal }.Start();
            await run.WindowOpened.WaitAsync(TimeSpan.FromMinutes(1), cancellationToken);
            // The curve starts before the kill: what the nodes, Redis and the generator did at rest.
            var victims = clients.Where(c => c.Victim).ToArray();
            var curve = new List<StormSample>();
            var sampler = new StormSampler(settings.ServerPids, settings.RedisPid, connector);
            var killAt = Stopwatch.GetTimestamp() + (long)(settings.Warmup.TotalSeconds * Stopwatch.Frequency);
            while (Stopwatch.GetTimestamp() < killAt)
            {
                await Task.Delay(SampleInterval, cancellationToken);
                curve.Add(sampler.Sample(Stopwatch.GetElapsedTime(killAt), 0, 0));
            }
            var readsBefore = await HistoryReadsAsync(cancellationToken);
            killed.Start();
            Process.GetProcessById(killPid).Kill();
            var recoveryDeadline = killed.Timestamp + (long)((settings.Duration + settings.Drain).TotalSeconds * Stopwatch.Frequency);
            while (true)
            {
                await Task.Delay(SampleInterval, cancellationToken);
                var now = Stopwatch.GetTimestamp();
                foreach (var victim in victims)
                {
                    victim.CheckRecovered(now);
                }
                curve.Add(sampler.Sample(killed.Elapsed(now), victims.Count(v => v.ReconnectedAt != 0), victims.Count(v => v.RecoveredAt != 0)));
                if (victims.All(v => v.RecoveredAt != 0) || now > recoveryDeadline)
                {
                    break;
                }
            }
            var readsAfterRecovery = await HistoryReadsAsync(cancellationToken);

            await run.Finished.WaitAsync(settings.Warmup + settings.Duration + TimeSpan.FromMinutes(1), cancellationToken);
            var lastSequence = run.Sent - 1;
            var drainDeadline = Stopwatch.GetTimestamp() + (long)(settings.Drain.TotalSeconds * Stopwatch.Frequency);
            while (!clients.All(c => c.CaughtUp(lastSequence)) && Stopwatch.GetTimestamp() < drainDeadline)
            {
                await Task.Delay(20, cancellationToken);
            }
            if (settings.CurvePath is { } path)
            {
                StormSample.Write(path, curve);
                var title = $"storm: {settings.Subscribers} clients, {victims.Length} on the killed node, {settings.Rates[0]:0.#} pub/s";
                File.WriteAllText(Path.ChangeExtension(path, ".svg"), StormPlot.Render(curve, victims.Length, title));
            }
            return Result(clients, victims, curve, publisher, run, window, killed, readsAfterRecovery - readsBefore, lastSequence);
        }
        finally
        {
            await Task.WhenAll(clients.Select(c => c.DisposeAsync().AsTask()).Append(publisher.DisposeAsync().AsTask()));
            connector.Handler.Dispose();
        }
    }

    private RunResult Result(
        StormClient[] clients, StormClient[] victims, List<StormSample> curve, WebSocketClient publisher, PublisherRun run, RunWindow window, KillClock killed, long? historyReads, long lastSequence)
    {
        var subscriptions = clients.SelectMany(c => c.Subscriptions).ToArray();
        var expected = subscriptions.Sum(s => s.Expected(lastSequence));
        var delivered = subscriptions.Sum(s => s.Received);
        var recoveries = victims.Where(v => v.RecoveredAt != 0).Select(v => killed.Elapsed(v.RecoveredAt).TotalSeconds).Order().ToArray();
        var latency = window.Latency;
        var afterKill = curve.Where(s => s.Seconds >= 0).ToArray();
        var result = new RunResult
        {
            Label = settings.Label,
            Scenario = settings.Scenario,
            Target = "pubsub",
            Transport = "ws",
            Nodes = 2,
            Subscribers = settings.Subscribers,
            Channels = settings.ChannelCount,
            Publishers = 1,
            PayloadBytes = settings.PayloadSize,
            OfferedRate = settings.Rates[0],
            WindowSeconds = Stopwatch.GetElapsedTime(run.WindowStartTimestamp, run.WindowEndTimestamp).TotalSeconds,
            Published = lastSequence + 1,
            Expected = expected,
            Delivered = delivered,
            Lost = subscriptions.Sum(s => s.Missing(lastSequence)),
            OutOfOrder = subscriptions.Sum(s => s.Duplicates),
            Disconnects = clients.Count(c => !c.Victim && c.ReconnectedAt != 0),
            Errors = clients.Sum(c => c.Unrecovered) + publisher.Errors,
            P50Ms = latency.Percentile(50) / 1000.0,
            P99Ms = latency.Percentile(99) / 1000.0,
            MaxMs = latency.MaxMicroseconds / 1000.0,
            StormVictims = victims.Length,
            StormReconnectedMaxS = victims.Any(v => v.ReconnectedAt == 0) ? null : victims.Max(v => killed.Elapsed(v.ReconnectedAt).TotalSeconds),
            StormRecoveredP50S = recoveries.Length == 0 ? null : recoveries[recoveries.Length / 2],
            StormRecoveredMaxS = recoveries.Length < victims.Length ? null : recoveries.LastOrDefault(),
            StormPeakConnectsPerSecond = afterKill.Length == 0 ? null : afterKill.Max(s => s.ConnectsPerSecond),
            StormPeakServerCpuPercent = afterKill.Max(s => s.ServerCpuPercent),
            StormPeakRedisCpuPercent = afterKill.Max(s => s.RedisCpuPercent),
            StormHistoryReads = historyReads,
        };
        result.Sustained = result.Lost == 0 && result.OutOfOrder == 0 && result.Errors == 0 && result.Disconnects == 0
            && recoveries.Length == victims.Length;
        var notes = new List<string>();
        if (recoveries.Length < victims.Length)
        {
            notes.Add($"{victims.Length - recoveries.Length} of {victims.Length} clients of the killed node had not recovered when the wait ended");
        }
        if (clients.FirstOrDefault(c => c.LastError is not null) is { } failed)
        {
            notes.Add($"a client: {failed.LastError}");
        }
        if (clients.Sum(c => c.ErrorCount) is > 0 and var errors)
        {
            notes.Add($"{errors} errors reported by the SDK, the first: {clients.First(c => c.FirstError is not null).FirstError}");
        }
        notes.Add($"{run.Sent} publications; {clients.Sum(c => c.Reconnects)} reconnects");
        result.Note = string.Join("; ", notes);
        return result;
    }

    /// <summary>History reads the surviving node made of its broker so far, from its Prometheus endpoint; null when it has none.</summary>
    private async Task<long?> HistoryReadsAsync(CancellationToken cancellationToken)
    {
        try
        {
            var text = await http.GetStringAsync(new Uri(settings.Urls[0], MetricsPath), cancellationToken);
            return ParseHistoryReads(text);
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    /// <summary>The sum of the node's <c>read</c> broker operations in a Prometheus text scrape.</summary>
    public static long ParseHistoryReads(string scrape) =>
        scrape.Split('\n')
            .Where(l => l.StartsWith(HistoryReadSeries, StringComparison.Ordinal) && l.Contains(HistoryReadLabel, StringComparison.Ordinal))
            .Sum(l => (long)double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));

    /// <summary>When the node was killed, once it has been; shared with every client's state handler.</summary>
    private sealed class KillClock
    {
        private long _timestamp;

        public long Timestamp => Volatile.Read(ref _timestamp);

        public void Start() => Volatile.Write(ref _timestamp, Stopwatch.GetTimestamp());

        public TimeSpan Elapsed(long timestamp) => Stopwatch.GetElapsedTime(Timestamp, timestamp);
    }

    /// <summary>
    /// One SDK client and its subscriptions. Its state handler notes the first reconnect after the
    /// kill and, with it, the last publication sent then: what the client must deliver to have recovered.
    /// </summary>
    private sealed class StormClient : IAsyncDisposable
    {
        private readonly PubSubClient _client;
        private readonly KillClock _killed;
        private readonly Func<long> _sent;
        private readonly RunWindow _window;
        private readonly List<Task> _readers = [];
        private long _reconnectedAt;
        private long _sentAtReconnect = -1;
        private int _reconnects;
        private int _unrecovered;
        private int _errors;

        private StormClient(PubSubClient client, bool victim, KillClock killed, Func<long> sent, RunWindow window)
        {
            _client = client;
            Victim = victim;
            _killed = killed;
            _sent = sent;
            _window = window;
            client.StateChanged += (_, e) => OnStateChanged(e);
            client.Error += (_, e) =>
            {
                Interlocked.Increment(ref _errors);
                FirstError ??= e.Error.Message;
            };
        }

        public bool Victim { get; }

        public List<StormSubscription> Subscriptions { get; } = [];

        public long ReconnectedAt => Volatile.Read(ref _reconnectedAt);

        public long RecoveredAt { get; private set; }

        public int Reconnects => Volatile.Read(ref _reconnects);

        /// <summary>Resubscriptions the server could not recover and gaps the SDK reported: each is loss.</summary>
        public int Unrecovered => Volatile.Read(ref _unrecovered);

        public string? LastError { get; private set; }

        /// <summary>Errors the SDK reported (refused requests, bad frames), and the first one's text.</summary>
        public int ErrorCount => Volatile.Read(ref _errors);

        public string? FirstError { get; private set; }

        public static async Task<StormClient> OpenAsync(
            Uri uri, bool victim, int[] channelIndexes, string[] channels, FailoverConnector connector, KillClock killed, Func<long> sent, RunWindow window,
            CancellationToken cancellationToken)
        {
            var options = new PubSubClientOptions { HttpMessageHandler = connector.Handler, UpgradeProbeInterval = null };
            options.Transports.Clear();
            options.Transports.Add(PubSubTransport.WebSocket);
            var client = new StormClient(new PubSubClient(uri, options), victim, killed, sent, window);
            try
            {
                await client._client.ConnectAsync(cancellationToken);
                foreach (var index in channelIndexes)
                {
                    var subscription = await client._client.SubscribeAsync(channels[index], cancellationToken);
                    client.Track(subscription, new StormSubscription(index, channels.Length));
                }
                return client;
            }
            catch
            {
                await client.DisposeAsync();
                throw;
            }
        }

        private void Track(PubSubSubscription subscription, StormSubscription stats)
        {
            Subscriptions.Add(stats);
            subscription.Resubscribed += (_, e) =>
            {
                if (!e.Recovered)
                {
                    Interlocked.Increment(ref _unrecovered);
                    LastError = $"{e.Channel} resubscribed without recovery";
                }
            };
            subscription.Missed += (_, e) =>
            {
                Interlocked.Increment(ref _unrecovered);
                LastError = $"{e.Channel}: the SDK reported missed publications";
            };
            _readers.Add(ReadAsync(subscription, stats));
        }

        private async Task ReadAsync(PubSubSubscription subscription, StormSubscription stats)
        {
            try
            {
                await foreach (var message in subscription.Reader.ReadAllAsync())
                {
                    var now = Stopwatch.GetTimestamp();
                    if (!BenchPayload.TryRead(JsonMarshal.GetRawUtf8Value(message.Data), out var sentAt, out var sequence))
                    {
                        LastError = $"{message.Channel}: a message without a bench payload";
                        continue;
                    }
                    stats.OnSequence(sequence);
                    _window.Latency.Record(RunWindow.ToMicroseconds(now - sentAt));
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LastError = $"{subscription.Channel}: {e.Message}";
            }
        }

        private void OnStateChanged(PubSubStateChangedEventArgs e)
        {
            if (e.State == PubSubClientState.Reconnecting)
            {
                Interlocked.Increment(ref _reconnects);
            }
            if (e.State == PubSubClientState.Connected && _killed.Timestamp != 0 && ReconnectedAt == 0)
            {
                Volatile.Write(ref _sentAtReconnect, _sent());
                Volatile.Write(ref _reconnectedAt, Stopwatch.GetTimestamp());
            }
            if (e.State == PubSubClientState.Closed && e.Error is { } error)
            {
                LastError = $"closed: {error.Message}";
            }
        }

        /// <summary>Called by the sampler only: marks the client recovered once each subscription delivered what was sent before it reconnected.</summary>
        public void CheckRecovered(long now)
        {
            if (RecoveredAt == 0 && ReconnectedAt != 0 && Subscriptions.All(s => s.CaughtUp(Volatile.Read(ref _sentAtReconnect) - 1)))
            {
                RecoveredAt = now;
            }
        }

        public bool CaughtUp(long lastSequence) => Subscriptions.All(s => s.CaughtUp(lastSequence));

        public async ValueTask DisposeAsync()
        {
            await _client.DisposeAsync();
            await Task.WhenAll(_readers).WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }
}

/// <summary>
/// What one subscription delivered. Its channel's publications are the sequences c, c + C,
/// c + 2C, …: each must come once, in that order, none skipped.
/// </summary>
internal sealed class StormSubscription(int channel, int channelCount)
{
    private long _last = channel - channelCount;
    private long _received;
    private long _skipped;
    private long _duplicates;

    public long Received => Volatile.Read(ref _received);

    public long Duplicates => Volatile.Read(ref _duplicates);

    /// <summary>Called by the subscription's one reader.</summary>
    public void OnSequence(long sequence)
    {
        Volatile.Write(ref _received, _received + 1);
        if (sequence <= _last || (sequence - channel) % channelCount != 0)
        {
            Volatile.Write(ref _duplicates, _duplicates + 1);
            return;
        }
        Volatile.Write(ref _skipped, _skipped + (sequence - _last) / channelCount - 1);
        Volatile.Write(ref _last, sequence);
    }

    /// <summary>Whether every publication of the channel up to <paramref name="sequence"/> was delivered.</summary>
    public bool CaughtUp(long sequence) => Volatile.Read(ref _last) + channelCount > sequence;

    /// <summary>The channel's publications among 0..<paramref name="lastSequence"/>.</summary>
    public long Expected(long lastSequence) => lastSequence < channel ? 0 : (lastSequence - channel) / channelCount + 1;

    /// <summary>Publications skipped, and those at the end that never came.</summary>
    public long Missing(long lastSequence) => Volatile.Read(ref _skipped) + Math.Max(0, Expected(lastSequence) - (Volatile.Read(ref _last) - channel) / channelCount - 1);
}

/// <summary>One point of the storm's curve, <see cref="StormScenario.SampleInterval"/> apart.</summary>
public sealed record StormSample(double Seconds, int Reconnected, int Recovered, double ConnectsPerSecond, double? ServerCpuPercent, double? RedisCpuPercent, double? GeneratorCpuPercent)
{
    public static void Write(string path, IEnumerable<StormSample> samples)
    {
        var text = new StringBuilder("seconds_after_kill,reconnected,recovered,connects_per_s,server_cpu_pct,redis_cpu_pct,generator_cpu_pct\n");
        foreach (var s in samples)
        {
            text.Append(CultureInfo.InvariantCulture, $"{s.Seconds:0.###},{s.Reconnected},{s.Recovered},{s.ConnectsPerSecond:0},{s.ServerCpuPercent:0.#},{s.RedisCpuPercent:0.#},{s.GeneratorCpuPercent:0.#}\n");
        }
        File.WriteAllText(path, text.ToString());
    }
}

/// <summary>Turns the connector's counter and the processes' CPU into per-interval rates.</summary>
internal sealed class StormSampler(IReadOnlyList<int> serverPids, int? redisPid, FailoverConnector connector)
{
    private long _lastTimestamp = Stopwatch.GetTimestamp();
    private long _lastConnects = connector.Connects;
    private TimeSpan? _lastServer = Cpu(serverPids);
    private TimeSpan? _lastRedis = redisPid is { } pid ? Cpu([pid]) : null;
    private TimeSpan? _lastGenerator = Cpu([ProcessProbe.CurrentPid]);

    public StormSample Sample(TimeSpan sinceKill, int reconnected, int recovered)
    {
        var now = Stopwatch.GetTimestamp();
        var elapsed = Stopwatch.GetElapsedTime(_lastTimestamp, now);
        var connects = connector.Connects;
        var server = Cpu(serverPids);
        var redis = redisPid is { } pid ? Cpu([pid]) : null;
        var generator = Cpu([ProcessProbe.CurrentPid]);
        var sample = new StormSample(
            sinceKill.TotalSeconds,
            reconnected,
            recovered,
            (connects - _lastConnects) / elapsed.TotalSeconds,
            Percent(_lastServer, server, elapsed),
            Percent(_lastRedis, redis, elapsed),
            Percent(_lastGenerator, generator, elapsed));
        (_lastTimestamp, _lastConnects, _lastServer, _lastRedis, _lastGenerator) = (now, connects, server, redis, generator);
        return sample;
    }

    private static TimeSpan? Cpu(IReadOnlyList<int> pids) => pids.Count == 0 ? null : ProcessProbe.Sum(pids).CpuTime;

    private static double? Percent(TimeSpan? before, TimeSpan? after, TimeSpan elapsed) =>
        before is { } b && after is { } a ? 100 * (a - b) / elapsed : null;
}
