using PubSub.Channels;

namespace PubSub.Stomp;

/// <summary>Where a STOMP session is in its life.</summary>
internal enum StompState : byte
{
    /// <summary>The socket is open; the only frame allowed is CONNECT (or STOMP).</summary>
    AwaitingConnect,
    /// <summary>CONNECTED was sent: every other client frame is allowed.</summary>
    Connected,
}

/// <summary>A SUBSCRIBE's <c>ack</c> mode (docs/protocol.md, section 7.4: what each means over a history-backed channel).</summary>
internal enum StompAckMode : byte
{
    Auto,
    Client,
    ClientIndividual,
}

/// <summary>One SUBSCRIBE: the client's id for it, the channel, its ack mode.</summary>
internal sealed record StompSubscription(string Id, string Channel, StompAckMode Ack);

/// <summary>
/// The state of one STOMP session, beside its <see cref="StompFraming"/>: its <see cref="StompState"/>,
/// its subscriptions by the client's id and by channel, and the channels the server subscribes
/// it to once it is connected. Changed only by the session's inbound frames (one at a time),
/// read also by the fan-out, hence the lock.
/// </summary>
internal sealed class StompConnection
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, StompSubscription> _byId = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _idByChannel = new(StringComparer.Ordinal);

    public StompState State { get; set; } = StompState.AwaitingConnect;

    /// <summary>Channels the connect hook gave the session, subscribed after CONNECTED (nothing may come before it).</summary>
    public IReadOnlyList<(ChannelMatch Match, StreamPosition? Since)> ServerChannels { get; set; } = [];

    /// <summary>Adds a subscription; false with the error code and reason when its id or its channel is taken.</summary>
    public bool TryAdd(StompSubscription subscription, out string code, out string problem)
    {
        lock (_gate)
        {
            if (_byId.ContainsKey(subscription.Id))
            {
                code = PubSubErrorCodes.BadRequest;
                problem = $"The session already has a subscription with id '{subscription.Id}'; each SUBSCRIBE needs an id of its own.";
                return false;
            }
            if (_idByChannel.TryGetValue(subscription.Channel, out var other))
            {
                code = PubSubErrorCodes.AlreadySubscribed;
                problem = $"Already subscribed to '{subscription.Channel}' (subscription '{other}'); a session subscribes to a channel once.";
                return false;
            }
            _byId.Add(subscription.Id, subscription);
            _idByChannel.Add(subscription.Channel, subscription.Id);
            code = "";
            problem = "";
            return true;
        }
    }

    public StompSubscription? Remove(string id)
    {
        lock (_gate)
        {
            if (!_byId.Remove(id, out var subscription))
            {
                return null;
            }
            _idByChannel.Remove(subscription.Channel);
            return subscription;
        }
    }

    public StompSubscription? Find(string id)
    {
        lock (_gate)
        {
            return _byId.GetValueOrDefault(id);
        }
    }

    public StompSubscription? FindByChannel(string channel)
    {
        lock (_gate)
        {
            return _idByChannel.TryGetValue(channel, out var id) ? _byId[id] : null;
        }
    }

    public string? IdOf(string channel)
    {
        lock (_gate)
        {
            return _idByChannel.GetValueOrDefault(channel);
        }
    }
}
