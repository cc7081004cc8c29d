using System.Diagnostics;
using System.Diagnostics.Metrics;
using PubSub.Protocol;

namespace PubSub.Diagnostics;

/// <summary>
/// The node's instruments, in the <see cref="PubSubTelemetry.MeterName"/> meter made through
/// <see cref="IMeterFactory"/>, named in OpenTelemetry's style (<c>pubsub.session.active</c>;
/// attributes such as <c>pubsub.transport</c>, <c>error.type</c>). The hot paths record per write
/// or per batch, never per delivery, and attributes are a few known values, so no record allocates.
/// docs/deployment.md lists every instrument and what it means.
/// </summary>
internal sealed class PubSubMetrics
{
    /// <summary>Instrument names that <see cref="NodeSnapshot"/> totals as well.</summary>
    public const string PublicationInstrument = "pubsub.publication";
    public const string DeliveryInstrument = "pubsub.delivery";
    public const string BytesSentInstrument = "pubsub.outbound.bytes";
    public const string FanOutFramesInstrument = "pubsub.fanout.frames";

    private readonly Meter _meter;
    private readonly UpDownCounter<long> _sessionsActive;
    private readonly Counter<long> _sessionsOpened;
    private readonly Counter<long> _sessionsClosed;
    private readonly Counter<long> _slowConsumers;
    private readonly Counter<long> _heartbeatTimeouts;
    private readonly UpDownCounter<long> _subscriptionsActive;
    private readonly Counter<long> _publications;
    private readonly Counter<long> _deliveries;
    private readonly Counter<long> _fanOutFrames;
    private readonly Counter<long> _bytesSent;
    private readonly Histogram<long> _held;
    private readonly Counter<long> _recoveries;
    private readonly Histogram<long> _replayed;
    private readonly Counter<long> _forwarded;
    private readonly Histogram<double> _brokerDuration;
    private readonly Counter<long> _brokerErrors;
    private readonly Counter<long> _limitRefusals;
    private readonly Counter<long> _joinLeaveDropped;

    public PubSubMetrics(IMeterFactory meters)
    {
        _meter = meters.Create(PubSubTelemetry.MeterName);
        _sessionsActive = _meter.CreateUpDownCounter<long>("pubsub.session.active", "{session}", "Sessions open on this node.");
        _sessionsOpened = _meter.CreateCounter<long>("pubsub.session.opened", "{session}", "Sessions opened.");
        _sessionsClosed = _meter.CreateCounter<long>("pubsub.session.closed", "{session}", "Sessions closed, by close code (1000: the client left).");
        _slowConsumers = _meter.CreateCounter<long>("pubsub.session.slow_consumer", "{session}", "Sessions closed because their client did not take what was sent (4001).");
        _heartbeatTimeouts = _meter.CreateCounter<long>("pubsub.session.heartbeat_timeout", "{session}", "WebSocket sessions closed because nothing came after a ping (4002).");
        _subscriptionsActive = _meter.CreateUpDownCounter<long>("pubsub.subscription.active", "{subscription}", "Subscriptions of this node's sessions.");
        _publications = _meter.CreateCounter<long>(PublicationInstrument, "{publication}", "Publish requests, by publisher and outcome (accepted, or refused with its error code).");
        _deliveries = _meter.CreateCounter<long>(DeliveryInstrument, "{message}", "Publications written to clients.");
        _fanOutFrames = _meter.CreateCounter<long>(FanOutFramesInstrument, "{frame}", "Message frames the fan-out built, by encoding: at most one per publication and encoding that has a local subscriber.");
        _bytesSent = _meter.CreateCounter<long>(BytesSentInstrument, "By", "Bytes written to clients.");
        _held = _meter.CreateHistogram("pubsub.outbound.held", "By", "What a session holds for its client at each write: its outbound queue's depth.",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [0, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216] });
        _recoveries = _meter.CreateCounter<long>("pubsub.recovery", "{subscription}", "Subscriptions made from a position, by whether history covered it.");
        _replayed = _meter.CreateHistogram("pubsub.recovery.replayed", "{message}", "Publications replayed from history to a recovered subscription.",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [0, 1, 10, 100, 1000, 10000] });
        _forwarded = _meter.CreateCounter<long>("pubsub.forward.request", "{request}", "Long-polling and /send requests forwarded to the node that owns the session, by outcome.");
        // OpenTelemetry's buckets for durations in seconds (the SDK's default ones are for milliseconds).
        _brokerDuration = _meter.CreateHistogram("pubsub.broker.operation.duration", "s", "How long broker operations take.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        _brokerErrors = _meter.CreateCounter<long>("pubsub.broker.error", "{operation}", "Broker operations that failed, by error code.");
        _joinLeaveDropped = _meter.CreateCounter<long>("pubsub.joinleave.dropped", "{event}", "Join and leave events a node did not send on, being over the channel's JoinLeaveRate.");
        _limitRefusals = _meter.CreateCounter<long>("pubsub.limit.refusals", "{request}", "Connects, publishes and subscribes refused by a limit (PubSub:Limits), by limit.");
    }

    /// <summary>This node's meter (one per service provider), which <see cref="NodeSnapshot"/> listens to for its totals.</summary>
    public Meter Meter => _meter;

    /// <summary>Observes the channels this node holds (from the hub, which registers itself).</summary>
    public void ObserveChannels(Func<int> count) =>
        _meter.CreateObservableUpDownCounter("pubsub.channel.active", () => (long)count(), "{channel}", "Channels with subscribers on this node (or lingering).");

    public void SessionOpened(string transport, FrameEncoding encoding)
    {
        var tags = new TagList { { "pubsub.transport", transport }, { "pubsub.encoding", encoding.Name } };
        _sessionsActive.Add(1, tags);
        _sessionsOpened.Add(1, tags);
    }

    public void SessionClosed(string transport, FrameEncoding encoding, DisconnectReason? reason)
    {
        var code = reason?.Code ?? 1000;
        _sessionsActive.Add(-1, new TagList { { "pubsub.transport", transport }, { "pubsub.encoding", encoding.Name } });
        _sessionsClosed.Add(1, new TagList { { "pubsub.transport", transport }, { "pubsub.close.code", code }, { "pubsub.close.reason", ReasonName(code) } });
        if (code == DisconnectReason.SlowConsumer.Code)
        {
            _slowConsumers.Add(1, new KeyValuePair<string, object?>("pubsub.transport", transport));
        }
        else if (code == DisconnectReason.HeartbeatTimeout.Code)
        {
            _heartbeatTimeouts.Add(1);
        }
    }

    /// <summary>A short, bounded name for a close code, so dashboards need no table of codes.</summary>
    private static string ReasonName(int code) => code switch
    {
        1000 => "client",
        1009 => "message_too_big",
        4000 => "shutdown",
        4001 => "slow_consumer",
        4002 => "heartbeat_timeout",
        4003 => "session_closed",
        4004 => "token_expired",
        4500 => "kicked",
        4501 => "protocol_violation",
        _ => "application",
    };

    public void SubscriptionsChanged(int delta) => _subscriptionsActive.Add(delta);

    /// <summary>A publish request's outcome: <paramref name="refusal"/> is the error code, null when it was published.</summary>
    public void Publication(string publisher, string? refusal)
    {
        var tags = new TagList { { "pubsub.publisher", publisher }, { "pubsub.outcome", refusal is null ? "accepted" : "refused" } };
        if (refusal is not null)
        {
            tags.Add("error.type", refusal);
        }
        _publications.Add(1, tags);
    }

    /// <summary>A transport write: how many publications and bytes it carried, and what the session held before it.</summary>
    public void Written(string transport, int publications, long bytes, long held)
    {
        if (bytes == 0)
        {
            return;
        }
        var tag = new KeyValuePair<string, object?>("pubsub.transport", transport);
        if (publications > 0)
        {
            _deliveries.Add(publications, tag);
        }
        _bytesSent.Add(bytes, tag);
        _held.Record(held, tag);
    }

    /// <summary>The fan-out built a publication's message frame in <paramref name="encoding"/> (once per publication and encoding).</summary>
    public void FanOutFrameBuilt(FrameEncoding encoding) =>
        _fanOutFrames.Add(1, new KeyValuePair<string, object?>("pubsub.encoding", encoding.Name));

    public void Recovery(bool recovered, int replayed)
    {
        _recoveries.Add(1, new KeyValuePair<string, object?>("pubsub.recovered", recovered));
        if (recovered)
        {
            _replayed.Record(replayed);
        }
    }

    public void Forwarded(string kind, string outcome) =>
        _forwarded.Add(1, new TagList { { "pubsub.request", kind }, { "pubsub.outcome", outcome } });

    public void BrokerOperation(string operation, TimeSpan duration, string? errorCode)
    {
        var tag = new KeyValuePair<string, object?>("pubsub.broker.operation", operation);
        _brokerDuration.Record(duration.TotalSeconds, tag);
        if (errorCode is not null)
        {
            _brokerErrors.Add(1, new TagList { tag, { "error.type", errorCode } });
        }
    }

    /// <summary>A refusal by one of <see cref="PubSubLimits"/>; <paramref name="limit"/> is one of <see cref="Limits.LimitNames"/>.</summary>
    public void LimitRefused(string limit) => _limitRefusals.Add(1, new KeyValuePair<string, object?>("pubsub.limit", limit));

    /// <summary>A join or leave that the channel's <see cref="ChannelOptions.JoinLeaveRate"/> dropped on this node.</summary>
    public void JoinLeaveDropped() => _joinLeaveDropped.Add(1);
}
