using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Xunit;

namespace PubSub.Testing;

/// <summary>
/// The contract of <see cref="IBroker"/>, written once and run against every implementation
/// (the in-memory broker here, the Redis broker in its own test project). Each test uses fresh
/// channel names, so implementations may share one backend across tests.
/// </summary>
public abstract class BrokerSpec : IAsyncLifetime
{
    private readonly List<IBroker> _started = [];

    protected static readonly HistoryOptions History10 = new(10, TimeSpan.FromMinutes(5));

    /// <summary>
    /// A broker on the backend this test uses; every broker created within one test shares it, so
    /// two calls give two nodes of one cluster.
    /// </summary>
    protected abstract Task<IBroker> CreateBrokerAsync();

    /// <summary>
    /// A broker like <see cref="CreateBrokerAsync"/>'s whose empty streams (read, never published)
    /// expire soon enough for a test to wait for: Redis's TTLs run in real time, so its spec sets
    /// a short empty-stream idle timeout; the in-memory spec's clock moves only when
    /// <see cref="WatchEmptyStreamExpiryAsync"/> moves it, so its brokers can all be alike.
    /// </summary>
    protected abstract Task<IBroker> CreateBrokerWithShortLivedEmptyStreamsAsync();

    /// <summary>
    /// Called before <paramref name="channel"/> is first read. The function returned, called after
    /// the read, returns once the empty stream that read created has expired: the in-memory spec
    /// moves its clock past the expiry, the Redis spec waits for Redis to expire the key.
    /// </summary>
    protected abstract Task<Func<Task>> WatchEmptyStreamExpiryAsync(string channel);

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        foreach (var broker in _started)
        {
            await broker.StopAsync(CancellationToken.None);
            (broker as IDisposable)?.Dispose();
            if (broker is IAsyncDisposable asyncDisposable)
            {
                await asyncDisposable.DisposeAsync();
            }
        }
    }

    protected static string NewChannel(string prefix = "spec") => $"{prefix}/{Guid.NewGuid():N}";

    protected async Task<(IBroker Broker, RecordingBrokerHandler Handler, string NodeId)> StartNodeAsync()
    {
        var broker = await CreateBrokerAsync();
        var handler = new RecordingBrokerHandler();
        var nodeId = "n" + Guid.NewGuid().ToString("N")[..10];
        await broker.StartAsync(nodeId, handler, CancellationToken.None);
        _started.Add(broker);
        // A broker may start before its backend is reached (the Redis broker's connect times out on
        // a loaded machine and goes on in the background); the node is unready until then, and
        // these tests are about a node that is ready, as a load balancer would wait for.
        await Timeouts.Until(async () => await broker.CheckAvailabilityAsync(CancellationToken.None) is null,
            "the broker is available", every: TimeSpan.FromMilliseconds(50));
        return (broker, handler, nodeId);
    }

    protected static Payload Json(string json) => Payload.FromJson(Encoding.UTF8.GetBytes(json));

    /// <summary>
    /// A real node on <paramref name="broker"/> (which it starts, stops and disposes), for what
    /// only a subscribe shows: the position a client gets, and whether it recovered.
    /// </summary>
    protected static Task<TestNode> StartTestNodeAsync(IBroker broker) =>
        TestNode.StartAsync(services: b => b.Services.Replace(ServiceDescriptor.Singleton(_ => broker)));

    private static StreamPosition PositionOf(JsonElement result) =>
        new(result.GetProperty("offset").GetInt64(), result.GetProperty("epoch").GetString()!);

    [Fact]
    public async Task Offsets_start_at_one_and_grow_by_one_within_an_epoch()
    {
        var (broker, _, _) = await StartNodeAsync();
        var channel = NewChannel();

        var positions = new List<StreamPosition>();
        for (var i = 0; i < 5; i++)
        {
            positions.Add(await broker.PublishAsync(channel, Json($"{i}"), History10, CancellationToken.None));
        }

        Assert.Equal([1L, 2, 3, 4, 5], positions.Select(p => p.Offset));
        Assert.Single(positions.Select(p => p.Epoch).Distinct());
        Assert.False(string.IsNullOrEmpty(positions[0].Epoch));
    }

    [Fact]
    public async Task Publishes_started_without_awaiting_take_offsets_in_the_order_started()
    {
        var (broker, handler, _) = await StartNodeAsync();
        var channel = NewChannel();
        await broker.SubscribeAsync(channel, CancellationToken.None);
        const int Count = 200;

        var publishes = Enumerable.Range(0, Count).Select(i => broker.PublishAsync(channel, Json($"{i}"), History10, CancellationToken.None).AsTask()).ToList();
        var positions = await Task.WhenAll(publishes).WithTimeout("the publishes");
        var delivered = await handler.PublicationsAsync(Count);

        Assert.Equal(Enumerable.Range(1, Count).Select(i => (long)i), positions.Select(p => p.Offset));
        Assert.Equal(Enumerable.Range(0, Count).Select(i => $"{i}"), delivered.Select(p => Encoding.UTF8.GetString(p.Data.Bytes.Span)));
    }

    [Fact]
    public async Task Reading_a_channel_that_never_had_a_publication_gives_a_stable_epoch_at_offset_zero()
    {
        var (broker, _, _) = await StartNodeAsync();
        var channel = NewChannel();

        var first = await broker.ReadHistoryAsync(channel, new HistoryQuery(null, 10), CancellationToken.None);
        var second = await broker.ReadHistoryAsync(channel, new HistoryQuery(null, 10), CancellationToken.None);
        var published = await broker.PublishAsync(channel, Json("1"), History10, CancellationToken.None);

        Assert.Equal(0, first.Latest.Offset);
        Assert.Empty(first.Publications);
        Assert.Equal(first.Latest, second.Latest);
        Assert.Equal(new StreamPosition(1, first.Latest.Epoch), published);
    }

    [Fact]
    public async Task Within_its_life_an_empty_stream_recovers_a_client_that_comes_back_at_offset_zero()
    {
        await using var node = await StartTestNodeAsync(await CreateBrokerAsync());
        var channel = NewChannel("chat");
        var first = await node.ConnectAsync();
        var start = PositionOf(await first.SubscribeAsync(channel));
        first.Abort();
        await first.DisposeAsync();

        await node.Publisher.PublishAsync(channel, new { n = 1 });
        await node.Publisher.PublishAsync(channel, new { n = 2 });
        await using var returning = await node.ConnectAsync();
        var resumed = await returning.SubscribeAsync(channel, start.Epoch, start.Offset);
        var replayed = await returning.MessagesAsync(2);

        Assert.Equal(0, start.Offset);
        Assert.True(resumed.GetProperty("recovered").GetBoolean());
        Assert.Equal(new StreamPosition(2, start.Epoch), PositionOf(resumed));
        Assert.Equal([1L, 2], replayed.Select(m => m.GetProperty("offset").GetInt64()));
        Assert.All(replayed, m => Assert.Equal(start.Epoch, m.GetProperty("epoch").GetString()));
    }

    [Fact]
    public async Task Once_an_empty_stream_expired_the_next_publish_starts_a_new_epoch_that_subscribers_take_and_an_old_position_does_not_recover()
    {
        await using var node = await StartTestNodeAsync(await CreateBrokerWithShortLivedEmptyStreamsAsync());
        var channel = NewChannel("chat");
        var expired = await WatchEmptyStreamExpiryAsync(channel);
        await using var subscriber = await node.ConnectAsync();
        var start = PositionOf(await subscriber.SubscribeAsync(channel));

        await expired().WithTimeout("the empty stream to expire");
        var published = await node.Publisher.PublishAsync(channel, new { n = 1 });
        var live = await subscriber.NextOfTypeAsync("message");
        await using var returning = await node.ConnectAsync();
        var resumed = await returning.SubscribeAsync(channel, start.Epoch, start.Offset);

        Assert.Equal(0, start.Offset);
        Assert.NotEqual(start.Epoch, published.Epoch);
        Assert.Equal(1, published.Offset);
        // The subscriber was there throughout: it takes the new epoch and misses nothing.
        Assert.Equal(published, PositionOf(live));
        // A client that comes back with the old position cannot know nothing was lost: it is told.
        Assert.False(resumed.GetProperty("recovered").GetBoolean());
        Assert.Equal(published, PositionOf(resumed));
    }

    [Fact]
    public async Task Publications_reach_every_subscribed_node_in_offset_order_with_identical_offsets()
    {
        var a = await StartNodeAsync();
        var b = await StartNodeAsync();
        var channel = NewChannel();
        await a.Broker.SubscribeAsync(channel, CancellationToken.None);
        await b.Broker.SubscribeAsync(channel, CancellationToken.None);

        // Both nodes publish at once; the stream still has one order.
        var publishing = Enumerable.Range(0, 50)
            .Select(i => (i % 2 == 0 ? a.Broker : b.Broker).PublishAsync(channel, Json($"{i}"), History10, CancellationToken.None).AsTask());
        await Task.WhenAll(publishing);

        var seenByA = await a.Handler.PublicationsAsync(50);
        var seenByB = await b.Handler.PublicationsAsync(50);
        Assert.Equal(Enumerable.Range(1, 50).Select(i => (long)i), seenByA.Select(p => p.Offset));
        Assert.Equal(seenByA.Select(p => (p.Position, p.Data)), seenByB.Select(p => (p.Position, p.Data)));
        Assert.All(seenByA, p => Assert.Equal(channel, p.Channel));
    }

    [Fact]
    public async Task A_node_receives_nothing_of_a_channel_while_unsubscribed()
    {
        var (broker, handler, _) = await StartNodeAsync();
        var channel = NewChannel();
        await broker.SubscribeAsync(channel, CancellationToken.None);
        await broker.PublishAsync(channel, Json("1"), History10, CancellationToken.None);
        Assert.Equal(1, (await handler.NextPublicationAsync()).Offset);

        await broker.UnsubscribeAsync(channel, CancellationToken.None);
        await broker.PublishAsync(channel, Json("2"), History10, CancellationToken.None);
        await broker.SubscribeAsync(channel, CancellationToken.None);
        await broker.PublishAsync(channel, Json("3"), History10, CancellationToken.None);

        // Offset 2 would have arrived before 3: deliveries of a channel are in offset order.
        Assert.Equal(3, (await handler.NextPublicationAsync()).Offset);
    }

    [Fact]
    public async Task Subscribe_then_read_history_misses_nothing_published_meanwhile()
    {
        var (publisher, _, _) = await StartNodeAsync();
        var (subscriber, handler, _) = await StartNodeAsync();
        var channel = NewChannel();

        using var stop = new CancellationTokenSource();
        var publishing = Task.Run(async () =>
        {
            var count = 0;
            while (!stop.IsCancellationRequested && count < 2000)
            {
                await publisher.PublishAsync(channel, Json($"{count++}"), new HistoryOptions(5000, TimeSpan.FromMinutes(5)), CancellationToken.None);
            }
            return count;
        });

        await subscriber.SubscribeAsync(channel, CancellationToken.None);
        var page = await subscriber.ReadHistoryAsync(channel, new HistoryQuery(0, 5000), CancellationToken.None);
        await stop.CancelAsync();
        var total = await publishing.WithTimeout("the publisher");

        // Everything up to the history read is in history; everything after it was delivered.
        Assert.Equal(Enumerable.Range(1, (int)page.Latest.Offset).Select(i => (long)i), page.Publications.Select(p => p.Offset));
        var delivered = new List<long>();
        while (total > page.Latest.Offset && (delivered.Count == 0 || delivered[^1] < total))
        {
            delivered.Add((await handler.NextPublicationAsync()).Offset);
        }
        Assert.Equal(Enumerable.Range((int)page.Latest.Offset + 1, total - (int)page.Latest.Offset).Select(i => (long)i),
            delivered.Where(offset => offset > page.Latest.Offset));
    }

    [Fact]
    public async Task History_after_an_offset_holds_the_later_publications_oldest_first()
    {
        var (broker, _, _) = await StartNodeAsync();
        var channel = NewChannel();
        for (var i = 1; i <= 6; i++)
        {
            await broker.PublishAsync(channel, Json($"{{\"n\":{i}}}"), History10, CancellationToken.None);
        }

        var page = await broker.ReadHistoryAsync(channel, new HistoryQuery(3, 10), CancellationToken.None);
        var limited = await broker.ReadHistoryAsync(channel, new HistoryQuery(3, 2), CancellationToken.None);

        Assert.Equal(6, page.Latest.Offset);
        Assert.Equal([4L, 5, 6], page.Publications.Select(p => p.Offset));
        Assert.Equal("{\"n\":4}", page.Publications[0].Data.ToString());
        Assert.All(page.Publications, p => Assert.Equal(page.Latest.Epoch, p.Epoch));
        Assert.Equal([4L, 5], limited.Publications.Select(p => p.Offset));
    }

    [Fact]
    public async Task History_without_an_offset_holds_the_latest_publications_oldest_first()
    {
        var (broker, _, _) = await StartNodeAsync();
        var channel = NewChannel();
        for (var i = 1; i <= 6; i++)
        {
            await broker.PublishAsync(channel, Json($"{i}"), History10, CancellationToken.None);
        }

        var page = await broker.ReadHistoryAsync(channel, new HistoryQuery(null, 3), CancellationToken.None);
        var positionOnly = await broker.ReadHistoryAsync(channel, new HistoryQuery(null, 0), CancellationToken.None);

        Assert.Equal([4L, 5, 6], page.Publications.Select(p => p.Offset));
        Assert.Empty(positionOnly.Publications);
        Assert.Equal(6, positionOnly.Latest.Offset);
    }

    [Fact]
    public async Task History_keeps_at_most_its_size()
    {
        var (broker, _, _) = await StartNodeAsync();
        var channel = NewChannel();
        for (var i = 1; i <= 25; i++)
        {
            await broker.PublishAsync(channel, Json($"{i}"), History10, CancellationToken.None);
        }

        var page = await broker.ReadHistoryAsync(channel, new HistoryQuery(0, 100), CancellationToken.None);

        Assert.Equal(Enumerable.Range(16, 10).Select(i => (long)i), page.Publications.Select(p => p.Offset));
        Assert.Equal(25, page.Latest.Offset);
    }

    [Fact]
    public async Task Without_history_publications_still_get_offsets_but_none_is_kept()
    {
        var (broker, _, _) = await StartNodeAsync();
        var channel = NewChannel();
        await broker.PublishAsync(channel, Json("1"), HistoryOptions.None, CancellationToken.None);
        var second = await broker.PublishAsync(channel, Json("2"), HistoryOptions.None, CancellationToken.None);

        var page = await broker.ReadHistoryAsync(channel, new HistoryQuery(0, 100), CancellationToken.None);

        Assert.Equal(2, second.Offset);
        Assert.Equal(second, page.Latest);
        Assert.Empty(page.Publications);
    }

    [Fact]
    public async Task Json_and_binary_payloads_keep_their_kind_and_bytes()
    {
        var (broker, handler, _) = await StartNodeAsync();
        var channel = NewChannel();
        await broker.SubscribeAsync(channel, CancellationToken.None);
        var json = Json("""{"text":"héllo ✓","list":[1,2.5,null,true]}""");
        var binary = Payload.FromBinary(new byte[] { 0, 1, 2, 0x0A, 0xFF, 0x80 });
        var empty = Payload.FromBinary(Array.Empty<byte>());

        await broker.PublishAsync(channel, json, History10, CancellationToken.None);
        await broker.PublishAsync(channel, binary, History10, CancellationToken.None);
        await broker.PublishAsync(channel, empty, History10, CancellationToken.None);

        var delivered = await handler.PublicationsAsync(3);
        var history = await broker.ReadHistoryAsync(channel, new HistoryQuery(0, 10), CancellationToken.None);
        Assert.Equal([json, binary, empty], delivered.Select(p => p.Data));
        Assert.Equal([json, binary, empty], history.Publications.Select(p => p.Data));
        Assert.False(delivered[0].Data.IsBinary);
        Assert.True(delivered[1].Data.IsBinary);
    }

    [Fact]
    public async Task Node_messages_reach_the_addressed_node_only()
    {
        var a = await StartNodeAsync();
        var b = await StartNodeAsync();

        Assert.True(await a.Broker.SendToNodeAsync(b.NodeId, "to b"u8.ToArray(), CancellationToken.None));
        Assert.True(await b.Broker.SendToNodeAsync(a.NodeId, "to a"u8.ToArray(), CancellationToken.None));

        Assert.Equal("to b", Encoding.UTF8.GetString(await b.Handler.NextNodeMessageAsync()));
        Assert.Equal("to a", Encoding.UTF8.GetString(await a.Handler.NextNodeMessageAsync()));
        Assert.False(a.Handler.HasNodeMessage);
        Assert.False(b.Handler.HasNodeMessage);
    }

    [Fact]
    public async Task Sending_to_a_node_that_does_not_exist_or_stopped_returns_false()
    {
        var a = await StartNodeAsync();
        var b = await StartNodeAsync();

        Assert.False(await a.Broker.SendToNodeAsync("nosuchnode", "x"u8.ToArray(), CancellationToken.None));

        await b.Broker.StopAsync(CancellationToken.None);
        Assert.False(await a.Broker.SendToNodeAsync(b.NodeId, "x"u8.ToArray(), CancellationToken.None));
    }

    [Fact]
    public async Task A_publish_repeated_with_its_idempotency_key_returns_the_first_position_and_publishes_nothing_from_any_node()
    {
        var (a, handler, _) = await StartNodeAsync();
        var (b, _, _) = await StartNodeAsync();
        var channel = NewChannel();
        await a.SubscribeAsync(channel, CancellationToken.None);
        var once = new IdempotencyKey("key-" + Guid.NewGuid().ToString("N"), TimeSpan.FromMinutes(1));

        var first = await a.PublishAsync(channel, Json("1"), History10, once, CancellationToken.None);
        var repeat = await b.PublishAsync(channel, Json("1"), History10, once, CancellationToken.None);
        var elsewhere = await b.PublishAsync(NewChannel(), Json("1"), History10, once, CancellationToken.None);
        var next = await a.PublishAsync(channel, Json("2"), History10, CancellationToken.None);
        var delivered = await handler.PublicationsAsync(2);
        var history = await a.ReadHistoryAsync(channel, new HistoryQuery(null, 10), CancellationToken.None);

        Assert.Equal(first, repeat);
        Assert.Equal(1, elsewhere.Offset);
        Assert.Equal(2, next.Offset);
        Assert.Equal(["1", "2"], delivered.Select(p => Encoding.UTF8.GetString(p.Data.Bytes.Span)));
        Assert.Equal([1L, 2], history.Publications.Select(p => p.Offset));
    }

    [Fact]
    public async Task Of_racing_publishes_with_one_idempotency_key_exactly_one_is_published()
    {
        var (a, _, _) = await StartNodeAsync();
        var (b, _, _) = await StartNodeAsync();
        var channel = NewChannel();
        var once = new IdempotencyKey("race", TimeSpan.FromMinutes(1));

        var positions = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            (i % 2 == 0 ? a : b).PublishAsync(channel, Json($"{i}"), History10, once, CancellationToken.None).AsTask())).WithTimeout("the publishes");
        var history = await a.ReadHistoryAsync(channel, new HistoryQuery(null, 10), CancellationToken.None);

        Assert.Single(positions.Distinct());
        Assert.Single(history.Publications);
    }

    [Fact]
    public async Task The_node_list_holds_every_started_node_and_not_one_that_stopped()
    {
        var a = await StartNodeAsync();
        var b = await StartNodeAsync();

        var both = await a.Broker.GetNodesAsync(CancellationToken.None);
        await b.Broker.StopAsync(CancellationToken.None);
        var one = await a.Broker.GetNodesAsync(CancellationToken.None);

        Assert.Contains(a.NodeId, both);
        Assert.Contains(b.NodeId, both);
        Assert.Contains(a.NodeId, one);
        Assert.DoesNotContain(b.NodeId, one);
    }

    private static PresenceMember Member(string session, string? user, string? info = null) =>
        new(session, user, info is null ? null : Json(info));

    private static string Describe(PresenceMember member) =>
        $"{member.Session}|{member.User ?? "-"}|{(member.Info is { } info ? Encoding.UTF8.GetString(info.Bytes.Span) : "-")}";

    [Fact]
    public async Task Presence_added_on_two_nodes_is_listed_and_counted_on_every_node_with_user_and_info()
    {
        var a = await StartNodeAsync();
        var b = await StartNodeAsync();
        var channel = NewChannel();

        await a.Broker.AddPresenceAsync(channel, Member("s1", "alice", """{"device":"phone","name":"Ålice"}"""), announce: false, CancellationToken.None);
        await a.Broker.AddPresenceAsync(channel, Member("s2", "alice"), announce: false, CancellationToken.None);
        await b.Broker.AddPresenceAsync(channel, Member("s3", "bob"), announce: false, CancellationToken.None);
        await b.Broker.AddPresenceAsync(channel, Member("s4", null), announce: false, CancellationToken.None);
        // The same session again stays one member.
        await b.Broker.AddPresenceAsync(channel, Member("s3", "bob"), announce: false, CancellationToken.None);

        foreach (var broker in new[] { a.Broker, b.Broker })
        {
            var page = await broker.ReadPresenceAsync(channel, PresenceMember.MaxListed, CancellationToken.None);
            Assert.False(page.Truncated);
            Assert.Equal(
                ["""s1|alice|{"device":"phone","name":"Ålice"}""", "s2|alice|-", "s3|bob|-", "s4|-|-"],
                page.Members.Select(Describe).Order(StringComparer.Ordinal));
            Assert.Equal(new PresenceStats(Clients: 4, Users: 2), await broker.ReadPresenceStatsAsync(channel, CancellationToken.None));
        }
        Assert.Empty((await a.Broker.ReadPresenceAsync(NewChannel(), 10, CancellationToken.None)).Members);
        Assert.Equal(default, await a.Broker.ReadPresenceStatsAsync(NewChannel(), CancellationToken.None));
    }

    [Fact]
    public async Task A_removed_member_leaves_presence_and_its_user_goes_with_its_last_session()
    {
        var a = await StartNodeAsync();
        var b = await StartNodeAsync();
        var channel = NewChannel();
        await a.Broker.AddPresenceAsync(channel, Member("s1", "alice"), announce: false, CancellationToken.None);
        await a.Broker.AddPresenceAsync(channel, Member("s2", "alice"), announce: false, CancellationToken.None);
        await b.Broker.AddPresenceAsync(channel, Member("s3", "bob"), announce: false, CancellationToken.None);

        await a.Broker.RemovePresenceAsync(channel, "s1", announce: false, CancellationToken.None);
        Assert.Equal(new PresenceStats(2, 2), await b.Broker.ReadPresenceStatsAsync(channel, CancellationToken.None));
        await a.Broker.RemovePresenceAsync(channel, "s2", announce: false, CancellationToken.None);
        await a.Broker.RemovePresenceAsync(channel, "nosuchsession", announce: false, CancellationToken.None);

        Assert.Equal(new PresenceStats(1, 1), await b.Broker.ReadPresenceStatsAsync(channel, CancellationToken.None));
        Assert.Equal(["s3|bob|-"], (await a.Broker.ReadPresenceAsync(channel, 10, CancellationToken.None)).Members.Select(Describe));
    }

    [Fact]
    public async Task A_presence_listing_is_capped_at_its_limit_and_says_it_was_truncated()
    {
        var a = await StartNodeAsync();
        var b = await StartNodeAsync();
        var channel = NewChannel();
        for (var i = 0; i < 6; i++)
        {
            await (i % 2 == 0 ? a : b).Broker.AddPresenceAsync(channel, Member($"s{i}", $"u{i}"), announce: false, CancellationToken.None);
        }

        var capped = await a.Broker.ReadPresenceAsync(channel, 4, CancellationToken.None);
        var whole = await a.Broker.ReadPresenceAsync(channel, 6, CancellationToken.None);

        Assert.Equal(4, capped.Members.Select(m => m.Session).Distinct().Count());
        Assert.True(capped.Truncated);
        Assert.Equal(6, whole.Members.Count);
        Assert.False(whole.Truncated);
        Assert.Equal(new PresenceStats(6, 6), await b.Broker.ReadPresenceStatsAsync(channel, CancellationToken.None));
    }

    [Fact]
    public async Task A_stopped_nodes_members_leave_presence_and_their_announced_leaves_reach_the_others()
    {
        var a = await StartNodeAsync();
        var b = await StartNodeAsync();
        var channel = NewChannel();
        await a.Broker.SubscribeAsync(channel, CancellationToken.None);
        await a.Broker.AddPresenceAsync(channel, Member("s1", "alice"), announce: false, CancellationToken.None);
        await b.Broker.AddPresenceAsync(channel, Member("s2", "bob"), announce: true, CancellationToken.None);
        Assert.Equal("s2", (await a.Handler.NextPresenceAsync()).Member.Session);

        await b.Broker.StopAsync(CancellationToken.None);
        var leave = await a.Handler.NextPresenceAsync();

        Assert.False(leave.Joined);
        Assert.Equal("s2|bob|-", Describe(leave.Member));
        Assert.Equal(["s1|alice|-"], (await a.Broker.ReadPresenceAsync(channel, 10, CancellationToken.None)).Members.Select(Describe));
        Assert.Equal(new PresenceStats(1, 1), await a.Broker.ReadPresenceStatsAsync(channel, CancellationToken.None));
    }

    [Fact]
    public async Task Announced_joins_and_leaves_reach_every_node_subscribed_to_the_channel_in_the_order_made_and_only_for_real_changes()
    {
        var a = await StartNodeAsync();
        var b = await StartNodeAsync();
        var deaf = await StartNodeAsync();
        var channel = NewChannel();
        await a.Broker.SubscribeAsync(channel, CancellationToken.None);
        await b.Broker.SubscribeAsync(channel, CancellationToken.None);

        await b.Broker.AddPresenceAsync(channel, Member("quiet", "q"), announce: false, CancellationToken.None);
        await b.Broker.AddPresenceAsync(channel, Member("s1", "alice", """{"n":1}"""), announce: true, CancellationToken.None);
        // Neither a repeated add nor the removal of an absent member is a change.
        await b.Broker.AddPresenceAsync(channel, Member("s1", "alice", """{"n":1}"""), announce: true, CancellationToken.None);
        await b.Broker.RemovePresenceAsync(channel, "nosuchsession", announce: true, CancellationToken.None);
        await a.Broker.AddPresenceAsync(channel, Member("s2", null), announce: true, CancellationToken.None);
        await b.Broker.RemovePresenceAsync(channel, "s1", announce: true, CancellationToken.None);
        await deaf.Broker.PublishAsync(channel, Json("1"), History10, CancellationToken.None);

        foreach (var handler in new[] { a.Handler, b.Handler })
        {
            var events = new[] { await handler.NextPresenceAsync(), await handler.NextPresenceAsync(), await handler.NextPresenceAsync() };
            Assert.Equal(
                ["""join s1|alice|{"n":1}""", "join s2|-|-", """leave s1|alice|{"n":1}"""],
                events.Select(e => (e.Joined ? "join " : "leave ") + Describe(e.Member)));
            Assert.All(events, e => Assert.Equal(channel, e.Channel));
            await handler.NextPublicationAsync();
            Assert.False(handler.HasPresence);
        }
        Assert.False(deaf.Handler.HasPresence);
    }
}
