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
    /// </summary>
    public void Activate(byte[]? firstFrame, StreamPosition position, IReadOnlyList<Publication> replay)
    {
        lock (_gate)
        {
            if (firstFrame is not null)
            {
                Session.Send(OutboundFrame.Advancing(firstFrame, Channel, position));
            }
            _position = position;
            foreach (var publication in replay)
            {
                DeliverLive(OutboundFrame.Advancing(ServerFrames.Message(publication), Channel, publication.Position));
            }
            foreach (var frame in _pending!)
            {
                DeliverLive(frame);
            }
            _pending = null;
        }
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
        _position = position;
        Session.Send(frame);
    }
}
