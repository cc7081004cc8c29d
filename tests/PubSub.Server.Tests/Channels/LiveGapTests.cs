using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using PubSub.Brokers;

namespace PubSub.Server.Tests.Channels;

/// <summary>
/// When a broker loses publications it cannot recover (history no longer holds them), a live
/// subscriber is told, with the same frame that says a subscription could not recover, instead of
/// silently seeing offsets jump.
/// </summary>
public sealed class LiveGapTests
{
    [Fact]
    public async Task A_subscriber_is_told_when_its_node_lost_publications()
    {
        var broker = new LossyBroker(dropOffset: 2);
        await using var node = await TestNode.StartAsync(services: b => b.Services.Replace(ServiceDescriptor.Singleton<IBroker>(broker)));
        await using var client = await node.ConnectAsync();
        await client.SubscribeAsync("chat/gap");

        for (var i = 1; i <= 3; i++)
        {
            await node.Publisher.PublishAsync("chat/gap", new { i });
        }
        var first = await client.NextAsync();
        var notice = await client.NextAsync();
        var third = await client.NextAsync();

        Assert.Equal(1, first.GetProperty("offset").GetInt64());
        Assert.Equal("subscribed", notice.GetProperty("type").GetString());
        Assert.Equal("chat/gap", notice.GetProperty("channel").GetString());
        Assert.False(notice.GetProperty("recovered").GetBoolean());
        Assert.Equal(2, notice.GetProperty("offset").GetInt64());
        Assert.Equal(first.GetProperty("epoch").GetString(), notice.GetProperty("epoch").GetString());
        Assert.Equal(3, third.GetProperty("offset").GetInt64());
    }

    /// <summary>A memory broker whose delivery of one offset never arrives, as if lost in transit and expired from history.</summary>
    private sealed class LossyBroker(long dropOffset) : MemoryBrokerDecorator
    {
        public override Task StartAsync(string nodeId, IBrokerHandler handler, CancellationToken cancellationToken) =>
            Inner.StartAsync(nodeId, new Dropping(handler, dropOffset), cancellationToken);

        private sealed class Dropping(IBrokerHandler inner, long dropOffset) : IBrokerHandler
        {
            public void OnPublication(Publication publication)
            {
                if (publication.Offset != dropOffset)
                {
                    inner.OnPublication(publication);
                }
            }

            public void OnNodeMessage(ReadOnlyMemory<byte> message) => inner.OnNodeMessage(message);

            public void OnPresence(PresenceEvent presence) => inner.OnPresence(presence);
        }
    }
}
