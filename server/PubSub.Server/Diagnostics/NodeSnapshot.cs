using System.Diagnostics.Metrics;
using PubSub.Channels;
using PubSub.Node;
using PubSub.Sessions;
using PubSub.Transports;

namespace PubSub.Diagnostics;

/// <summary>What this node holds at one moment, for an operator's dashboard (<see cref="NodeSnapshot"/>).</summary>
internal sealed record NodeStats(
    string NodeId,
    string Broker,
    DateTimeOffset StartedAt,
    TimeSpan Uptime,
    string? NotReadyReason,
    int Sessions,
    IReadOnlyList<(string Transport, int Sessions)> SessionsByTransport,
    int Channels,
    int Subscriptions,
    IReadOnlyList<(string Channel, int Subscribers)> TopChannels,
    long Publications,
    long Deliveries,
    long BytesSent);

/// <summary>
/// A read-only look at this node: its sessions by transport, its channels with their subscriber
/// counts (the busiest few), and running totals of accepted publications, deliveries and bytes
/// sent, from which a dashboard computes rates. The totals come from the node's own instruments
/// through a <see cref="MeterListener"/> of this snapshot's, so a node that never asks for one
/// pays nothing on its hot paths; they count from when the snapshot was made (the endpoint that
/// uses it makes it at start-up).
/// </summary>
internal sealed class NodeSnapshot : IDisposable
{
    /// <summary>The most channels one snapshot lists: a node with 100,000 channels must not answer with all of them.</summary>
    public const int MaxTopChannels = 1000;

    private static readonly string[] KnownTransports = [TransportNames.WebSocket, TransportNames.ServerSentEvents, TransportNames.LongPolling];

    private readonly NodeIdentity _identity;
    private readonly SessionRegistry _sessions;
    private readonly ChannelHub _hub;
    private readonly MeasuredBroker _broker;
    private readonly TimeProvider _time;
    private readonly DateTimeOffset _startedAt;
    private readonly long _started;
    private readonly MeterListener _listener = new();
    private readonly Total _publications = new(acceptedOnly: true);
    private readonly Total _deliveries = new(acceptedOnly: false);
    private readonly Total _bytesSent = new(acceptedOnly: false);

    public NodeSnapshot(NodeIdentity identity, SessionRegistry sessions, ChannelHub hub, MeasuredBroker broker, PubSubMetrics metrics, TimeProvider time)
    {
        _identity = identity;
        _sessions = sessions;
        _hub = hub;
        _broker = broker;
        _time = time;
        _startedAt = time.GetUtcNow();
        _started = time.GetTimestamp();

        // Only this node's meter: nodes in one process (tests, an application with two) each have
        // their own, and must not count each other's.
        var meter = metrics.Meter;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter != meter)
            {
                return;
            }
            Total? total = instrument.Name switch
            {
                PubSubMetrics.PublicationInstrument => _publications,
                PubSubMetrics.DeliveryInstrument => _deliveries,
                PubSubMetrics.BytesSentInstrument => _bytesSent,
                _ => null,
            };
            if (total is not null)
            {
                listener.EnableMeasurementEvents(instrument, total);
            }
        };
        _listener.SetMeasurementEventCallback<long>(static (_, value, tags, state) => ((Total)state!).Add(value, tags));
        _listener.Start();
    }

    /// <summary>
    /// The node now, with at most <paramref name="topChannels"/> channels (those with the most
    /// subscribers; ties by name). Walks every session and channel once, keeping only the
    /// <paramref name="topChannels"/> busiest, so memory stays small however many there are.
    /// </summary>
    public async Task<NodeStats> TakeAsync(int topChannels, CancellationToken cancellationToken)
    {
        topChannels = Math.Clamp(topChannels, 0, MaxTopChannels);
        var byTransport = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var name in KnownTransports)
        {
            byTransport[name] = 0;
        }
        var sessions = 0;
        foreach (var session in _sessions.All)
        {
            sessions++;
            byTransport[session.Transport] = byTransport.GetValueOrDefault(session.Transport) + 1;
        }

        // A min-heap of the busiest so far: the least busy of them is the one to drop.
        var top = new PriorityQueue<string, (int Subscribers, string Name)>(topChannels + 1, BusiestLast.Instance);
        var channels = 0;
        var subscriptions = 0;
        foreach (var (channel, subscribers) in _hub.LocalChannels)
        {
            channels++;
            subscriptions += subscribers;
            if (subscribers == 0 || topChannels == 0)
            {
                continue;
            }
            top.Enqueue(channel, (subscribers, channel));
            if (top.Count > topChannels)
            {
                top.Dequeue();
            }
        }
        var busiest = new List<(string Channel, int Subscribers)>(top.Count);
        while (top.TryDequeue(out var channel, out var priority))
        {
            busiest.Add((channel, priority.Subscribers));
        }
        busiest.Reverse();

        var notReady = await _broker.CheckAvailabilityAsync(cancellationToken);
        return new NodeStats(
            _identity.Id,
            _broker.Name,
            _startedAt,
            _time.GetElapsedTime(_started),
            notReady,
            sessions,
            [.. byTransport.Select(pair => (pair.Key, pair.Value))],
            channels,
            subscriptions,
            busiest,
            _publications.Value,
            _deliveries.Value,
            _bytesSent.Value);
    }

    public void Dispose() => _listener.Dispose();

    /// <summary>A running total of one instrument; for publications, only the accepted ones.</summary>
    private sealed class Total(bool acceptedOnly)
    {
        private long _value;

        public long Value => Interlocked.Read(ref _value);

        public void Add(long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (acceptedOnly && !IsAccepted(tags))
            {
                return;
            }
            Interlocked.Add(ref _value, value);
        }

        private static bool IsAccepted(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            foreach (var (key, value) in tags)
            {
                if (key == "pubsub.outcome")
                {
                    return value is "accepted";
                }
            }
            return false;
        }
    }

    /// <summary>Fewer subscribers first, and among equals the later name first, so the heap drops those.</summary>
    private sealed class BusiestLast : IComparer<(int Subscribers, string Name)>
    {
        public static readonly BusiestLast Instance = new();

        public int Compare((int Subscribers, string Name) x, (int Subscribers, string Name) y) =>
            x.Subscribers != y.Subscribers ? x.Subscribers.CompareTo(y.Subscribers) : string.CompareOrdinal(y.Name, x.Name);
    }
}
