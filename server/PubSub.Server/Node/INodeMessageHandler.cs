namespace PubSub.Node;

/// <summary>
/// Receives the messages other nodes send this one through the broker. Registered in DI; each
/// message goes to every handler, which ignores what is not its own (messages say their kind).
/// Called on the broker's thread: must not block.
/// </summary>
internal interface INodeMessageHandler
{
    void OnNodeMessage(ReadOnlyMemory<byte> message);
}
