using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using PubSub.Client.Tests.Support;

namespace PubSub.Client.Tests.Faults;

/// <summary>
/// The product's central promise under the faults a deployment meets, all in one run: two Host
/// processes on a real Redis (append-only, as production runs it) behind HAProxy in TCP mode
/// without affinity; subscribers on every transport (the .NET client on WebSocket, SSE and
/// long-polling, and a plain EventSource that only has its cursor); a publisher through the
/// balancer; and, while it publishes, a node killed with -9 and started again, Redis killed and
/// started again, and Redis frozen (SIGSTOP) while the other node dies, so that its clients resume
/// on a node that cannot reach Redis. Afterwards every subscriber must hold every publication of
/// every channel exactly once, in order, and no fault here may cost one (history covers them all).
/// </summary>
/// <remarks>
/// The faults are placed by the publisher's progress, not by the clock, and every wait has a
/// timeout, so the run takes about a minute and stops by itself.
/// </remarks>
public sealed class FaultInjectionTests : IAsyncLifetime
{
    private const string ApiKey = "fault-injection";
    private const int Publications = 1500;
    private static readonly string[] Channels = ["fault/a", "fault/b", "fault/c"];

    private readonly List<IAsyncDisposable> _resources = [];
    private RedisServer _redis = null!;
    private HostProcess _a = null!;
    private HostProcess _b = null!;
    private HaProxy _balancer = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync(persistent: true);
        _a = await HostProcess.StartAsync(Environment());
        _b = await HostProcess.StartAsync(Environment());
        _balancer = await HaProxy.StartAsync($$"""
            frontend balancer
              bind 127.0.0.1:{port}
              default_backend nodes

            backend nodes
              balance roundrobin
              option redispatch
              retries 3
              server a 127.0.0.1:{{_a.Port}} check inter 200ms fall 1 rise 1
              server b 127.0.0.1:{{_b.Port}} check inter 200ms fall 1 rise 1
            """);
    }

    public async Task DisposeAsync()
    {
        foreach (var resource in Enumerable.Reverse(_resources))
        {
            await resource.DisposeAsync();
        }
        await _balancer.DisposeAsync();
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private Dictionary<string, string> Environment() => new()
    {
        ["PubSub__ApiKey"] = ApiKey,
        ["PubSub__Redis__Configuration"] = _redis.Configuration,
        // A stall shows within a second, as 'timeout' to the publisher.
        ["PubSub__Redis__OperationTimeout"] = "00:00:01",
        ["PubSub__Redis__ReconnectInterval"] = "00:00:00.200",
        ["PubSub__Channels__0__Template"] = "fault/{x}",
        ["PubSub__Channels__0__HistorySize"] = "10000",
        ["PubSub__Channels__0__HistoryTtl"] = "00:10:00",
    };

    [Fact]
    public async Task Every_subscriber_on_every_transport_keeps_every_publication_through_a_node_kill_a_redis_restart_and_a_redis_stall()
    {
        var subscribers = new List<Recorder>();
        foreach (var transport in ClientHarness.AllTransports)
        {
            for (var i = 0; i < 2; i++)
            {
                subscribers.Add(await SubscribeWithClientAsync(transport, $"{transport} {i + 1}"));
            }
        }
        for (var i = 0; i < 2; i++)
        {
            subscribers.Add(await SubscribeWithEventSourceAsync($"EventSource {i + 1}"));
        }

        using var http = new HttpClient { BaseAddress = _balancer.BaseUri, Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Add("X-API-Key", ApiKey);
        var publisher = new Publisher(http);
        var faults = new (int At, Func<Task> Fault)[]
        {
            (300, async () => await _a.DisposeAsync()),
            (450, async () => _a = await HostProcess.StartAsync(Environment(), _a.Port)),
            (700, async () =>
            {
                // Down until a publish was refused for it ('unavailable', then retried): a restart
                // quicker than the next publish would test nothing, and one that races the publish
                // in flight answers 'timeout' instead.
                await _redis.KillAsync();
                await publisher.UntilRetriesAsync(1);
                await _redis.StartAgainAsync();
            }),
            (1000, async () =>
            {
                // Frozen, and meanwhile the other node dies: its clients come back to a node
                // whose Redis does not answer, so their resubscribes fail for now and must be
                // made again, each from the position it had (for a plain EventSource, its cursor).
                _redis.Pause();
                await _b.DisposeAsync();
                await publisher.UntilTimeoutsAsync(3);
                _redis.Resume();
            }),
            (1200, async () => _b = await HostProcess.StartAsync(Environment(), _b.Port)),
        };
        var published = publisher.RunAsync(Publications);
        foreach (var (at, fault) in faults)
        {
            await Timeouts.Until(() => publisher.Attempted >= at || published.IsCompleted, $"publication {at}", TimeSpan.FromSeconds(60));
            await fault().WithTimeout($"the fault at publication {at}", TimeSpan.FromSeconds(30));
        }
        await published.WithTimeout("the publisher", TimeSpan.FromSeconds(90));

        var final = new Dictionary<string, (string Epoch, long Offset)>();
        foreach (var channel in Channels)
        {
            final[channel] = await LatestAsync(http, channel);
        }
        await Timeouts.Until(() => subscribers.All(s => s.HasReached(final)), "every subscriber to catch up", TimeSpan.FromSeconds(45));

        var problems = subscribers.SelectMany(s => s.Problems(final)).ToList();
        Assert.True(problems.Count == 0, $"{publisher}\n" + string.Join('\n', problems));
        Assert.True(publisher.Timeouts >= 3 && publisher.Retries > 0, $"the faults did not happen as planned: {publisher}");
    }

    private async Task<Recorder> SubscribeWithClientAsync(PubSubTransport transport, string name)
    {
        var client = ClientHarness.Create(new Uri(_balancer.BaseUri, "pubsub"), transport);
        _resources.Add(client);
        await client.ConnectAsync().WithTimeout($"{name} to connect");
        var recorder = new Recorder(name);
        foreach (var channel in Channels)
        {
            var subscription = await client.SubscribeAsync(channel);
            subscription.Missed += (_, e) => recorder.Gap(e.Channel, $"missed after {e.From} up to {e.Position}");
            _ = ReadAllAsync(subscription, recorder);
        }
        return recorder;
    }

    private static async Task ReadAllAsync(PubSubSubscription subscription, Recorder recorder)
    {
        try
        {
            await foreach (var message in subscription.ReadAllAsync())
            {
                recorder.Message(message.Channel, message.Epoch, message.Offset);
            }
        }
        catch (Exception e) when (e is PubSubException or OperationCanceledException)
        {
            recorder.Gap(subscription.Channel, $"the subscription ended: {e.Message}");
        }
    }

    private async Task<Recorder> SubscribeWithEventSourceAsync(string name)
    {
        var query = string.Join('&', Channels.Select(c => "channel=" + Uri.EscapeDataString(c)));
        var script = NodeScript.Start("eventsource-client.mjs", $"{_balancer.BaseUri}pubsub/sse?{query}");
        _resources.Add(script);
        var recorder = new Recorder(name);
        var subscribed = 0;
        while (subscribed < Channels.Length)
        {
            if (IsFrame(await script.NextAsync(), "subscribed", out _))
            {
                subscribed++;
            }
        }
        _ = RecordAsync(script, recorder);
        return recorder;
    }

    /// <summary>What a plain EventSource sees: messages, and the frames that announce a gap or an end.</summary>
    private static async Task RecordAsync(NodeScript script, Recorder recorder)
    {
        while (true)
        {
            JsonElement line;
            try
            {
                line = await script.NextAsync();
            }
            catch (TimeoutException)
            {
                continue;
            }
            catch (InvalidOperationException)
            {
                return;
            }
            if (IsFrame(line, "message", out var frame))
            {
                recorder.Message(frame.GetProperty("channel").GetString()!, frame.GetProperty("epoch").GetString()!, frame.GetProperty("offset").GetInt64());
            }
            else if (IsFrame(line, "subscribed", out frame) && frame.TryGetProperty("recovered", out var recovered) && !recovered.GetBoolean())
            {
                recorder.Gap(frame.GetProperty("channel").GetString()!, "subscribed with recovered: false");
            }
            else if (IsFrame(line, "unsubscribed", out frame))
            {
                recorder.Gap(frame.GetProperty("channel").GetString()!, $"unsubscribed: {frame.GetProperty("code").GetString()}");
            }
        }
    }

    private static bool IsFrame(JsonElement line, string type, out JsonElement frame)
    {
        if (line.TryGetProperty("data", out frame) && frame.GetProperty("type").GetString() == type)
        {
            return true;
        }
        frame = default;
        return false;
    }

    private static async Task<(string Epoch, long Offset)> LatestAsync(HttpClient http, string channel)
    {
        var page = await http.GetFromJsonAsync<JsonElement>($"api/history?channel={Uri.EscapeDataString(channel)}&limit=1").WithTimeout("the channel's position");
        return (page.GetProperty("epoch").GetString()!, page.GetProperty("offset").GetInt64());
    }

    /// <summary>
    /// Publishes round-robin to the channels through the balancer, paced at about 50 per second.
    /// What failed surely (503 unavailable) is sent again; what may have been stored (504 timeout,
    /// a connection cut by a node's death) is not, as a careful publisher does: the subscribers are
    /// checked against what the channels hold, not against what was attempted.
    /// </summary>
    private sealed class Publisher(HttpClient http)
    {
        private int _attempted;
        private int _timeouts;
        private int _retries;
        private int _unknown;

        public int Attempted => Volatile.Read(ref _attempted);

        public int Timeouts => Volatile.Read(ref _timeouts);

        public int Retries => Volatile.Read(ref _retries);

        public async Task RunAsync(int count)
        {
            using var pace = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
            for (var n = 1; n <= count; n++)
            {
                await pace.WaitForNextTickAsync();
                await PublishAsync(Channels[n % Channels.Length], n);
                Interlocked.Increment(ref _attempted);
            }
        }

        public Task UntilTimeoutsAsync(int count) => UntilAsync(() => Timeouts, count, "publishes to time out");

        public Task UntilRetriesAsync(int count) => UntilAsync(() => Retries, count, "publishes to be refused for now and retried");

        private static Task UntilAsync(Func<int> counter, int count, string what)
        {
            var target = counter() + count;
            return PubSub.Testing.Timeouts.Until(() => counter() >= target, $"{count} {what}", TimeSpan.FromSeconds(20));
        }

        private async Task PublishAsync(string channel, int n)
        {
            for (var attempt = 0; attempt < 100; attempt++)
            {
                HttpStatusCode status;
                try
                {
                    using var response = await http.PostAsJsonAsync("api/publish", new { channel, data = new { n } });
                    status = response.StatusCode;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    // The connection broke with the request on its way: it may have been published.
                    Interlocked.Increment(ref _unknown);
                    return;
                }
                switch (status)
                {
                    case HttpStatusCode.OK:
                        return;
                    case HttpStatusCode.GatewayTimeout:
                        Interlocked.Increment(ref _timeouts);
                        return;
                    case HttpStatusCode.ServiceUnavailable:
                        Interlocked.Increment(ref _retries);
                        await Task.Delay(50);
                        continue;
                    default:
                        throw new InvalidOperationException($"Publishing {n} to {channel} answered {(int)status}.");
                }
            }
            throw new InvalidOperationException($"Publishing {n} to {channel} was refused 100 times.");
        }

        public override string ToString() =>
            $"publisher: {Attempted} attempted, {Retries} retried after 503, {Timeouts} answered 504, {Volatile.Read(ref _unknown)} cut off";
    }

    /// <summary>One subscriber's deliveries per channel and the gaps it was told of, checked at the end.</summary>
    private sealed class Recorder(string name)
    {
        private readonly ConcurrentDictionary<string, ConcurrentQueue<(string Epoch, long Offset)>> _messages = new();
        private readonly ConcurrentQueue<string> _gaps = new();

        public void Message(string channel, string epoch, long offset) =>
            _messages.GetOrAdd(channel, _ => new()).Enqueue((epoch, offset));

        public void Gap(string channel, string what) => _gaps.Enqueue($"{channel}: {what}");

        public bool HasReached(Dictionary<string, (string Epoch, long Offset)> final) =>
            final.All(f => _messages.TryGetValue(f.Key, out var messages) && messages.Contains(f.Value));

        /// <summary>Duplicates, reorders, gaps (none is expected: every fault here is one history covers), and what is missing at the end.</summary>
        public IEnumerable<string> Problems(Dictionary<string, (string Epoch, long Offset)> final)
        {
            foreach (var gap in _gaps)
            {
                yield return $"{name}: told of a gap: {gap}";
            }
            foreach (var (channel, last) in final)
            {
                var seen = _messages.TryGetValue(channel, out var messages) ? messages.ToList() : [];
                var expected = Enumerable.Range(1, (int)last.Offset).Select(o => (last.Epoch, (long)o)).ToList();
                if (!seen.SequenceEqual(expected))
                {
                    var duplicates = seen.Count - seen.Distinct().Count();
                    var missing = expected.Except(seen).Count();
                    var reorders = seen.Zip(seen.Skip(1)).Count(p => p.First.Epoch == p.Second.Epoch && p.Second.Offset < p.First.Offset);
                    var epochs = string.Join(", ", seen.Select(s => s.Epoch).Distinct());
                    yield return $"{name}: {channel}: {seen.Count} delivered for {last.Offset} published: {missing} missing, {duplicates} duplicates, {reorders} reorders (epochs {epochs}; now {last.Epoch})";
                }
            }
        }
    }
}
