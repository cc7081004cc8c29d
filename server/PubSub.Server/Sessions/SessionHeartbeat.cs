namespace PubSub.Sessions;

/// <summary>What the heartbeat rule says to do with a session at a tick.</summary>
internal enum HeartbeatAction
{
    None,

    /// <summary>Send a <c>ping</c>: the interval has passed since the last one.</summary>
    Ping,

    /// <summary>Close with 4002: nothing came from the client within the pong timeout of a ping.</summary>
    TimedOut,
}

/// <summary>
/// One WebSocket session's heartbeat (docs/protocol.md, section 2.6): when something last came
/// from the client, and the ping it has not answered yet, with the rule that decides each tick.
/// Any inbound frame answers a ping. Timestamps are the node's <see cref="TimeProvider"/>'s.
/// </summary>
internal sealed class SessionHeartbeat(long now)
{
    private long _lastInbound = now;
    private long _pingSent;
    private long _lastPing = now;

    // Null: the PubSub rule (ping, then a pong timeout). Set: a rule the client negotiated (STOMP's heart-beat header).
    private volatile NegotiatedHeartbeat? _negotiated;

    /// <summary>
    /// Replaces the ping/pong rule with a negotiated one (STOMP 1.2, "Heart-beating"): a
    /// heart-beat every <paramref name="sendEvery"/> (none when zero), and the session has timed
    /// out once nothing arrived for <paramref name="silenceLimit"/> (never when zero). Nothing
    /// answers a STOMP heart-beat: each side only sends its own.
    /// </summary>
    public void Negotiate(TimeSpan sendEvery, TimeSpan silenceLimit) => _negotiated = new(sendEvery, silenceLimit);

    /// <summary>Records that the client sent something, which answers any outstanding ping.</summary>
    public void MarkInbound(long timestamp) => Volatile.Write(ref _lastInbound, timestamp);

    /// <summary>Whether a ping is outstanding that something from the client has answered since.</summary>
    public bool PingAnswered => Volatile.Read(ref _pingSent) is var sent and not 0 && Volatile.Read(ref _lastInbound) >= sent;

    /// <summary>
    /// The rule, at <paramref name="now"/>: a ping every <paramref name="interval"/>, and a session
    /// that stays silent for <paramref name="pongTimeout"/> after one has timed out. Called by one
    /// timer for the whole node, never concurrently for one session.
    /// </summary>
    public HeartbeatAction Tick(long now, TimeProvider time, TimeSpan interval, TimeSpan pongTimeout)
    {
        if (_negotiated is { } negotiated)
        {
            return TickNegotiated(negotiated, now, time);
        }
        var pingSent = Volatile.Read(ref _pingSent);
        if (pingSent != 0)
        {
            if (Volatile.Read(ref _lastInbound) < pingSent)
            {
                return time.GetElapsedTime(pingSent, now) >= pongTimeout ? HeartbeatAction.TimedOut : HeartbeatAction.None;
            }
            Volatile.Write(ref _pingSent, 0);
        }
        if (time.GetElapsedTime(_lastPing, now) < interval)
        {
            return HeartbeatAction.None;
        }
        _lastPing = now;
        Volatile.Write(ref _pingSent, now);
        return HeartbeatAction.Ping;
    }

    private HeartbeatAction TickNegotiated(NegotiatedHeartbeat rule, long now, TimeProvider time)
    {
        if (rule.SilenceLimit > TimeSpan.Zero && time.GetElapsedTime(Volatile.Read(ref _lastInbound), now) >= rule.SilenceLimit)
        {
            return HeartbeatAction.TimedOut;
        }
        if (rule.SendEvery <= TimeSpan.Zero || time.GetElapsedTime(_lastPing, now) < rule.SendEvery)
        {
            return HeartbeatAction.None;
        }
        _lastPing = now;
        return HeartbeatAction.Ping;
    }

    private sealed record NegotiatedHeartbeat(TimeSpan SendEvery, TimeSpan SilenceLimit);
}
