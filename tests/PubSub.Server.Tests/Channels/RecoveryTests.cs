using Microsoft.Extensions.DependencyInjection;
using System.Text.Json;

namespace PubSub.Server.Tests.Channels;

/// <summary>Subscribing with <c>since</c> replays what the client missed, or says it cannot.</summary>
public sealed class RecoveryTests
{
    private static long Offset(JsonElement frame) => frame.GetProperty("offset").GetInt64();

    [Fact]
    public async Task A_client_that_reconnects_gets_what_it_missed_in_order_then_live_messages()
    {
        await using var node = await TestNode.StartAsync();
        var first = await node.ConnectAsync();
        var subscribed = await first.SubscribeAsync("chat/room");
        for (var i = 1; i <= 3; i++)
        {
            await node.Publisher.PublishAsync("chat/room", new { i });
        }
        var seen = await first.MessagesAsync(3);
        var epoch = seen[^1].GetProperty("epoch").GetString()!;
        first.Abort();
        await first.DisposeAsync();

        for (var i = 4; i <= 7; i++)
        {
            await node.Publisher.PublishAsync("chat/room", new { i });
        }
        await using var second = await node.ConnectAsync();
        var result = await second.SubscribeAsync("chat/room", epoch, Offset(seen[^1]));
        var replayed = await second.MessagesAsync(4);
        await node.Publisher.PublishAsync("chat/room", new { i = 8 });
        var live = await second.NextOfTypeAsync("message");

        Assert.Equal(subscribed.GetProperty("epoch").GetString(), epoch);
        Assert.True(result.GetProperty("recovered").GetBoolean());
        Assert.Equal(7, Offset(result));
        Assert.Equal([4L, 5, 6, 7], replayed.Select(Offset));
        Assert.Equal([4, 5, 6, 7], replayed.Select(m => m.GetProperty("data").GetProperty("i").GetInt32()));
        Assert.Equal(8, Offset(live));
    }

    [Fact]
    public async Task A_client_that_missed_nothing_recovers_with_no_replay()
    {
        await using var node = await TestNode.StartAsync();
        await using var client = await node.ConnectAsync();
        var position = await node.Publisher.PublishAsync("chat/quiet", new { i = 1 });

        var result = await client.SubscribeAsync("chat/quiet", position.Epoch, position.Offset);
        await node.Publisher.PublishAsync("chat/quiet", new { i = 2 });

        Assert.True(result.GetProperty("recovered").GetBoolean());
        Assert.Equal(2, Offset(await client.NextOfTypeAsync("message")));
    }

    [Fact]
    public async Task When_history_no_longer_covers_the_gap_the_subscription_says_recovered_false_and_goes_on_live()
    {
        await using var node = await TestNode.StartAsync(o => o.Channel("small/{x}", c => c.History(3, TimeSpan.FromMinutes(5))));
        var start = await node.Publisher.PublishAsync("small/a", new { i = 1 });
        for (var i = 2; i <= 10; i++)
        {
            await node.Publisher.PublishAsync("small/a", new { i });
        }
        await using var client = await node.ConnectAsync();

        var result = await client.SubscribeAsync("small/a", start.Epoch, start.Offset);
        await node.Publisher.PublishAsync("small/a", new { i = 11 });
        var next = await client.NextAsync();

        Assert.False(result.GetProperty("recovered").GetBoolean());
        Assert.Equal(10, Offset(result));
        Assert.Equal("message", next.GetProperty("type").GetString());
        Assert.Equal(11, Offset(next));
    }

    [Fact]
    public async Task A_channel_without_history_cannot_recover_a_gap()
    {
        await using var node = await TestNode.StartAsync();
        var start = await node.Publisher.PublishAsync("nohistory/a", new { i = 1 });
        await node.Publisher.PublishAsync("nohistory/a", new { i = 2 });
        await using var client = await node.ConnectAsync();

        var result = await client.SubscribeAsync("nohistory/a", start.Epoch, start.Offset);

        Assert.False(result.GetProperty("recovered").GetBoolean());
        Assert.Equal(2, Offset(result));
    }

    [Fact]
    public async Task A_position_from_another_epoch_is_not_recovered()
    {
        await using var node = await TestNode.StartAsync();
        await node.Publisher.PublishAsync("chat/epochs", new { i = 1 });
        await using var client = await node.ConnectAsync();

        var result = await client.SubscribeAsync("chat/epochs", "someoldepoch", 1);

        Assert.False(result.GetProperty("recovered").GetBoolean());
        Assert.NotEqual("someoldepoch", result.GetProperty("epoch").GetString());
    }

    [Fact]
    public async Task A_position_ahead_of_the_channel_is_not_recovered()
    {
        await using var node = await TestNode.StartAsync();
        var position = await node.Publisher.PublishAsync("chat/ahead", new { i = 1 });
        await using var client = await node.ConnectAsync();

        var result = await client.SubscribeAsync("chat/ahead", position.Epoch, 50);

        Assert.False(result.GetProperty("recovered").GetBoolean());
        Assert.Equal(1, Offset(result));
    }

    [Fact]
    public async Task After_history_is_lost_the_channel_starts_a_new_epoch_and_clients_get_recovered_false()
    {
        var time = new ManualTimeProvider();
        using var backplane = new MemoryBackplane(time, streamIdleTimeout: TimeSpan.FromMinutes(10));
        await using var node = await TestNode.StartAsync(
            services: b => b.AddMemoryBroker(backplane),
            host: h => h.Services.AddSingleton<TimeProvider>(time));
        var before = await node.Publisher.PublishAsync("chat/lost", new { i = 1 });

        time.Advance(TimeSpan.FromMinutes(11));
        var after = await node.Publisher.PublishAsync("chat/lost", new { i = 2 });
        await using var client = await node.ConnectAsync();
        var result = await client.SubscribeAsync("chat/lost", before.Epoch, before.Offset);

        Assert.NotEqual(before.Epoch, after.Epoch);
        Assert.Equal(1, after.Offset);
        Assert.False(result.GetProperty("recovered").GetBoolean());
        Assert.Equal(after.Epoch, result.GetProperty("epoch").GetString());
    }

    [Fact]
    public async Task A_live_subscriber_adopts_a_new_epoch_without_missing_anything()
    {
        var time = new ManualTimeProvider();
        using var backplane = new MemoryBackplane(time, streamIdleTimeout: TimeSpan.FromMinutes(10));
        // Eleven simulated minutes pass in one step, with no chance to answer pings in between.
        await using var node = await TestNode.StartAsync(
            o => o.PingInterval = TimeSpan.FromHours(1),
            services: b => b.AddMemoryBroker(backplane),
            host: h => h.Services.AddSingleton<TimeProvider>(time));
        await using var client = await node.ConnectAsync();
        await client.SubscribeAsync("chat/renewed");
        await node.Publisher.PublishAsync("chat/renewed", new { i = 1 });
        var first = await client.NextOfTypeAsync("message");

        time.Advance(TimeSpan.FromMinutes(11));
        await node.Publisher.PublishAsync("chat/renewed", new { i = 2 });
        var second = await client.NextOfTypeAsync("message");

        Assert.Equal(1, Offset(second));
        Assert.NotEqual(first.GetProperty("epoch").GetString(), second.GetProperty("epoch").GetString());
        Assert.Equal(2, second.GetProperty("data").GetProperty("i").GetInt32());
    }

    [Fact]
    public async Task Recovery_works_across_nodes_that_share_a_broker()
    {
        using var backplane = new MemoryBackplane();
        await using var nodeA = await TestNode.StartAsync(services: b => b.AddMemoryBroker(backplane));
        await using var nodeB = await TestNode.StartAsync(services: b => b.AddMemoryBroker(backplane));
        var onA = await nodeA.ConnectAsync();
        await onA.SubscribeAsync("chat/cluster");
        await nodeB.Publisher.PublishAsync("chat/cluster", new { i = 1 });
        var seen = await onA.NextOfTypeAsync("message");
        onA.Abort();
        await onA.DisposeAsync();

        await nodeA.Publisher.PublishAsync("chat/cluster", new { i = 2 });
        await nodeB.Publisher.PublishAsync("chat/cluster", new { i = 3 });
        await using var onB = await nodeB.ConnectAsync();
        var result = await onB.SubscribeAsync("chat/cluster", seen.GetProperty("epoch").GetString(), Offset(seen));
        var replayed = await onB.MessagesAsync(2);

        Assert.True(result.GetProperty("recovered").GetBoolean());
        Assert.Equal([2L, 3], replayed.Select(Offset));
    }
}
