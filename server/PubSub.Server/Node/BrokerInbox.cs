using PubSub.Channels;

namespace PubSub.Node;

/// <summary>What the broker delivers to this node, sent on: publications to the channel hub, node messages to their handlers.</summary>
internal sealed class BrokerInbox(ChannelHub hub, IEnumerable<INodeMessageHandler> handlers) : IBrokerHandler
{
    private readonly INodeMessageHandler[] _handlers = [.. handlers];

    public void OnPublication(Publication publication) => hub.OnPublication(publication);

    public void OnPresence(PresenceEvent presence) => hub.OnPresence(presence);

    public void OnNodeMessage(ReadOnlyMemory<byte> message)
    {
        foreach (var handler in _handlers)
        {
            handler.OnNodeMessage(message);
        }
    }
}
