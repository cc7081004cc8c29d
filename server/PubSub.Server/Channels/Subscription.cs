using PubSub.Protocol;
using PubSub.Sessions;

namespace PubSub.Channels;

/// <summary>
/// One session's subscription to one channel. It starts out buffering: live publications that
/// arrive while history is being read are held back, then merged behind the replayed history
/// when the subscription goes live, so that none is lost and none is delivered twice.
/// </summary>
internal sealed class Subscription
{
    private readonly Lock _gate = new();

    // Live publications held back while the subscription is being set up; null once it is live.
    private volatile List<OutboundFrame>? _pending = [];
    private long _pendingBytes;

    // The position of the last publication delivered; only the delivering thread touches it once live.
    private StreamPosition _position;

    public Subscription(Session session, ChannelMatch match)
    {
        Session = session;
        Match = match;
    }

    public Session Session { get; }

    public ChannelMatch Match { get; }

    public string Channel => Match.Channel;

    public bool IsLive => _pending is null;

    // 1 while the subscription's member is (or is being) in the broker's presence.
    private int _inPresence;

    /// <summary>Marks the member as entering the broker's presence, before the add is issued.</summary>
    public void EnterPresence() => Volatile.Write(ref _inPresence, 1);

    /// <summary>True once, for the caller that must remove the member from the broker's presence.</summary>
    public bool LeavePresence() => Interlocked.Exchange(ref _inPresence, 0) == 1;

    /// <summary>Called by the fan-out with the frame every subscriber shares.</summary>
    public void Deliver(in OutboundFrame frame)
    {
        if (_pending is not null)
        {
            lock (_gate)
            {
                if (_pending is { } pending)
                {
                    pending.Add(frame);
                    _pendingBytes += frame.Bytes.Length;
                    if (_pendingBytes > Session.Outbound.Limit * OutboundQueue.LagFactor)
                    {
                        // The history read takes so long that what arrives meanwhile would hold more
                        // than a session may fall behind through no fault of its client: cut it, and
                        // it recovers when it comes back.
                        Session.Close(DisconnectReason.SlowConsumer);
                    }
                    return;
                }
            }
        }
        DeliverLive(frame);
    }

    /// <summary>
    /// Makes the subscription live: sends <paramref name="firstFrame"/> (the subscribe reply or a
    /// <c>subscribed</c> frame), then the replayed history, then whatever arrived meanwhile that is
    /// newer than both. <paramref name="position"/> is where the client stands before the replay.
    /// The replay and the held-back publications go at the pace the client reads, not all at once,
    /// so a client may catch up on more than its outbound queue holds.
    /// </summary>
    public async Task ActivateAsync(byte[]? firstFrame, StreamPosition position, IReadOnlyList<Publication> replay, CancellationToken cancellationToken)
    {
        // Until the subscription is live, only this method touches _position.
        if (firstFrame is not null)
        {
            Session.Send(OutboundFrame.Advancing(firstFrame, Channel, position));
        }
        _position = position;
        foreach (var publication in replay)
        {
            await DeliverPacedAsync(OutboundFrame.Publication(Session.Encoding.Message(publication), Channel, publication.Position), cancellationToken);
        }

        while (true)
        {
            List<OutboundFrame> heldBack;
            lock (_gate)
            {
                if (_pending!.Count == 0)
                {
                    _pending = null;
                    return;
                }
                heldBack = _pending;
                _pending = [];
                _pendingBytes = 0;
            }
            foreach (var frame in heldBack)
            {
                await DeliverPacedAsync(frame, cancellationToken);
            }
        }
    }

    private async ValueTask DeliverPacedAsync(OutboundFrame frame, CancellationToken cancellationToken)
    {
        await Session.Outbound.WaitForRoomAsync(frame.Bytes.Length, cancellationToken);
        DeliverLive(frame);
    }

    private void DeliverLive(in OutboundFrame frame)
    {
        var position = frame.Position;
        // The broker may repeat a publication, and the buffered ones overlap the replayed history.
        // A new epoch means the stream restarted: its offsets start again and are all new.
        if (position.Offset <= _position.Offset && position.Epoch == _position.Epoch)
        {
            return;
        }
        if (position.Epoch == _position.Epoch && position.Offset > _position.Offset + 1)
        {
            // Within an epoch a broker delivers every offset, closing its own gaps from history;
            // a jump means publications were lost for good. Say so, as for a subscription that
            // could not recover, rather than let the client find out from the offsets.
            var before = new StreamPosition(position.Offset - 1, position.Epoch);
            Session.Send(OutboundFrame.Advancing(Session.Encoding.Subscribed(Channel, before, recovered: false), Channel, before));
        }
        _position = position;
        Session.Send(Session.Encoding.ForSubscriber(frame));
    }
}
