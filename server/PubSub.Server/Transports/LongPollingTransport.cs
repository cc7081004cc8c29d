using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using PubSub.Diagnostics;
using PubSub.Protocol;
using PubSub.Sessions;

namespace PubSub.Transports;

/// <summary>
/// <c>GET {prefix}/poll</c> (docs/protocol.md, section 3.4). Frames are numbered as they are
/// taken from the session's queue and kept until the client acknowledges them, so a response
/// lost on the way is sent again by the next poll. The response to a poll with <c>ack=n</c> always
/// starts at frame n+1, which lets a client skip a late, superseded response by counting.
/// </summary>
internal sealed class LongPollingTransport : IDisposable
{
    /// <summary>A poll response carries about this much at most; the rest waits for the next poll.</summary>
    public const int MaxResponseBytes = 1024 * 1024;

    private readonly ConcurrentDictionary<string, PollSession> _sessions = new(StringComparer.Ordinal);
    private readonly PubSubOptions _options;
    private readonly TimeProvider _time;
    private readonly PubSubMetrics _metrics;
    private readonly SessionBootstrap _bootstrap;
    private readonly ITimer _sweep;

    public LongPollingTransport(IOptions<PubSubOptions> options, TimeProvider time, SessionBootstrap bootstrap, PubSubMetrics metrics)
    {
        _metrics = metrics;
        _options = options.Value;
        _time = time;
        _bootstrap = bootstrap;
        var tick = TimeSpan.FromSeconds(1);
        _sweep = time.CreateTimer(static s => ((LongPollingTransport)s!).CloseAbandonedSessions(), this, tick, tick);
    }

    public void Dispose() => _sweep.Dispose();

    public PollSession? Find(string sessionId) => _sessions.GetValueOrDefault(sessionId);

    /// <summary>The first poll: opens a session and answers at once with what is queued (<c>connected</c> first).</summary>
    public async Task OpenAsync(HttpContext context)
    {
        var opened = await _bootstrap.OpenAsync(context, TransportNames.LongPolling, pingSeconds: 0, textOnly: false);
        if (opened is not var (session, channels))
        {
            return;
        }
        var poll = new PollSession(session, _time.GetTimestamp());
        _sessions[session.Id] = poll;
        _bootstrap.StartSubscriptions(session, channels);
        var response = await PollAsync(poll, ack: 0, context.RequestAborted);
        await SessionEndpoints.WriteAsync(context, response);
    }

    /// <summary>One poll of an existing session, on the node that owns it.</summary>
    public async Task<SessionResponse> PollAsync(PollSession poll, long ack, CancellationToken cancellationToken)
    {
        CancellationTokenSource mine;
        lock (poll.Gate)
        {
            if (ack < poll.Acked || ack > poll.LastSent)
            {
                return SessionResponse.Error(PubSubErrorCodes.BadRequest,
                    $"'ack' must be from {poll.Acked} (the last ack) to {poll.LastSent} (the last frame sent); it was {ack}.");
            }
            poll.Acknowledge(ack);
            // The newer poll wins; the older one is answered, empty, at once.
            poll.ActivePoll?.Cancel();
            mine = poll.ActivePoll = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        }

        try
        {
            while (true)
            {
                lock (poll.Gate)
                {
                    if (poll.ActivePoll != mine)
                    {
                        return SessionResponse.EmptyPoll(poll.Session.Encoding);
                    }
                    if (poll.TakeBatch(_metrics) is { } batch)
                    {
                        return SessionResponse.Frames(poll.Session.Encoding, batch);
                    }
                    if (poll.Session.Outbound.IsCompleted)
                    {
                        // Closed, and its last frame was delivered and acknowledged.
                        _sessions.TryRemove(new KeyValuePair<string, PollSession>(poll.Session.Id, poll));
                        return SessionResponse.SessionNotFound(poll.Session.Id);
                    }
                }

                using var timeout = new CancellationTokenSource(_options.PollTimeout, _time);
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(mine.Token, timeout.Token);
                try
                {
                    await poll.Session.Outbound.WaitToReadAsync(wait.Token);
                }
                catch (OperationCanceledException)
                {
                    return SessionResponse.EmptyPoll(poll.Session.Encoding);
                }
            }
        }
        finally
        {
            lock (poll.Gate)
            {
                if (poll.ActivePoll == mine)
                {
                    poll.ActivePoll = null;
                }
                poll.LastPollEnded = _time.GetTimestamp();
            }
            mine.Dispose();
        }
    }

    /// <summary>Closes sessions whose client stopped polling for longer than the grace period.</summary>
    internal void CloseAbandonedSessions()
    {
        var now = _time.GetTimestamp();
        foreach (var poll in _sessions.Values)
        {
            bool abandoned;
            lock (poll.Gate)
            {
                abandoned = poll.ActivePoll is null && _time.GetElapsedTime(poll.LastPollEnded, now) > _options.PollGracePeriod;
            }
            if (abandoned)
            {
                _sessions.TryRemove(new KeyValuePair<string, PollSession>(poll.Session.Id, poll));
                poll.Session.Close(DisconnectReason.SessionClosed);
            }
        }
    }

    /// <summary>The long-polling state of one session.</summary>
    internal sealed class PollSession(Session session, long now)
    {
        private readonly List<OutboundFrame> _unacked = [];
        private readonly List<OutboundFrame> _scratch = [];

        public Session Session { get; } = session;

        public Lock Gate { get; } = new();

        /// <summary>The number of the last frame the client acknowledged.</summary>
        public long Acked { get; private set; }

        /// <summary>The number of the last frame sent (acknowledged or not).</summary>
        public long LastSent => Acked + _unacked.Count;

        public CancellationTokenSource? ActivePoll { get; set; }

        public long LastPollEnded { get; set; } = now;

        /// <summary>Drops the frames up to <paramref name="ack"/>: the client has them, so the session no longer holds them.</summary>
        public void Acknowledge(long ack)
        {
            var count = (int)(ack - Acked);
            long bytes = 0;
            for (var i = 0; i < count; i++)
            {
                bytes += _unacked[i].Bytes.Length;
            }
            _unacked.RemoveRange(0, count);
            Acked = ack;
            Session.Outbound.Release(bytes);
        }

        /// <summary>
        /// The batch to answer with: every frame sent but not acknowledged (a lost response is
        /// sent again), then new frames from the queue up to the size cap. Null when there is none.
        /// Frames sent count against the session's limit until they are acknowledged.
        /// </summary>
        public byte[]? TakeBatch(PubSubMetrics metrics)
        {
            var encoding = Session.Encoding;
            var size = encoding.JoinedLength(_unacked);
            if (size < MaxResponseBytes)
            {
                _scratch.Clear();
                var held = Session.Outbound.HeldBytes;
                var bytes = Session.Outbound.DequeueBatch(_scratch, MaxResponseBytes - size);
                // A frame counts once, when it first goes out; what a lost response sends again does not.
                metrics.Written(TransportNames.LongPolling, OutboundFrame.CountPublications(_scratch), bytes, held);
                _unacked.AddRange(_scratch);
            }
            if (_unacked.Count == 0)
            {
                return null;
            }
            return encoding.Join(_unacked);
        }
    }
}
