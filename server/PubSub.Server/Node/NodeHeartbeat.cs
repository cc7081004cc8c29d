using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PubSub.Protocol;
using PubSub.Sessions;
using PubSub.Transports;

namespace PubSub.Node;

/// <summary>
/// One timer for the whole node, every second on the injected clock (one per session would make
/// idle sessions cost more): it closes a session whose transport has waited on its client for
/// <see cref="PubSubOptions.WriteTimeout"/> (4001), and applies each WebSocket session's
/// <see cref="SessionHeartbeat"/> rule: ping every <see cref="PubSubOptions.PingInterval"/>,
/// 4002 after <see cref="PubSubOptions.PongTimeout"/> of silence after a ping.
/// </summary>
internal sealed partial class NodeHeartbeat(SessionRegistry sessions, IOptions<PubSubOptions> options, TimeProvider time, ILogger<NodeHeartbeat> logger) : IDisposable
{
    private readonly PubSubOptions _options = options.Value;
    private ITimer? _timer;

    public void Start()
    {
        var tick = TimeSpan.FromSeconds(1);
        _timer = time.CreateTimer(static state => ((NodeHeartbeat)state!).OnTick(), this, tick, tick);
    }

    public void Dispose() => _timer?.Dispose();

    private void OnTick()
    {
        try
        {
            Check();
        }
        catch (Exception e)
        {
            // A timer callback must never throw: that would end the process.
            Log.HeartbeatFailed(logger, e);
        }
    }

    internal void Check()
    {
        var now = time.GetTimestamp();
        foreach (var session in sessions.All)
        {
            var waitingOnClient = session.Outbound.WaitingOnClientSince;
            if (waitingOnClient != 0 && time.GetElapsedTime(waitingOnClient, now) >= _options.WriteTimeout)
            {
                // However little it holds: a client that takes nothing must not keep it for good.
                session.Close(DisconnectReason.SlowConsumer);
                continue;
            }
            if (session.Transport != TransportNames.WebSocket)
            {
                continue;
            }
            switch (session.Heartbeat.Tick(now, time, _options.PingInterval, _options.PongTimeout))
            {
                case HeartbeatAction.Ping:
                    session.Send(session.Encoding.Ping);
                    break;
                case HeartbeatAction.TimedOut:
                    session.Close(DisconnectReason.HeartbeatTimeout);
                    break;
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(5, LogLevel.Error, "The heartbeat check failed.")]
        public static partial void HeartbeatFailed(ILogger logger, Exception exception);
    }
}
