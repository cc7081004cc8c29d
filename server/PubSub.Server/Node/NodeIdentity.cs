using Microsoft.Extensions.Options;

namespace PubSub.Node;

/// <summary>This node's id: <see cref="PubSubOptions.NodeId"/>, or a random one per process start. It prefixes the ids of the sessions the node owns.</summary>
internal sealed class NodeIdentity(IOptions<PubSubOptions> options)
{
    public string Id { get; } = options.Value.NodeId ?? Ids.NewNodeId();
}
