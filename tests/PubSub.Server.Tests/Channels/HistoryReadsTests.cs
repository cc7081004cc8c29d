using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using PubSub.Channels;

namespace PubSub.Server.Tests.Channels;

/// <summary>
/// Recoveries of one channel that arrive together share broker reads (issue 17, the reconnect
/// storm), and each still gets exactly what a read of its own would have: what it missed, in
/// order, nothing twice.
/// </summary>
public sealed class HistoryReadsTests
{
    private static readonly HistoryOptions History = new(50, TimeSpan.FromMinutes(5));

    [Fact]
    public async Task Reads_that_arrive_during_a_read_share_the_next_one_and_each_gets_its_own_part()
    {
        var broker = new GatedBroker();
        for (var i = 1; i <= 20; i++)
        {
            await broker.PublishDirectAsync("chat/storm", i);
        }
        var reads = new HistoryReads(broker);
        var first = reads.ReadAsync("chat/storm", new HistoryQuery(3, History.Size), delivered: null, CancellationToken.None);
        var queries = Enumerable.Range(0, 20).Select(since => new HistoryQuery(since, History.Size))
            .Append(new HistoryQuery(null, 0))
            .Append(new HistoryQuery(null, 5))
            .ToList();
        var joined = queries.Select(q => reads.ReadAsync("chat/storm", q, delivered: null, CancellationToken.None)).ToList();

        Assert.Equal(queries.Count, reads.Waiting);
        Assert.Equal(1, broker.Reads);
        broker.Open();
        var pages = await Task.WhenAll(joined).WithTimeout("the joined reads");

        Assert.Equal(2, broker.Reads);
        Assert.Equal(2, reads.BrokerReads);
        Assert.Equal(Enumerable.Range(4, 17).Select(i => (long)i), (await first).Publications.Select(p => p.Offset));
        for (var i = 0; i < queries.Count; i++)
        {
            var alone = await broker.ReadAloneAsync("chat/storm", queries[i]);
            Assert.Equal(alone.Latest, pages[i].Latest);
            Assert.Equal(alone.Publications.Select(p => p.Offset), pages[i].Publications.Select(p => p.Offset));
        }
        Assert.Equal(0, reads.Waiting);
    }

    [Fact]
    public async Task A_read_after_a_shared_read_completed_reads_afresh()
    {
        var broker = new GatedBroker();
        broker.Open();
        await broker.PublishDirectAsync("chat/fresh", 1);
        var reads = new HistoryReads(broker);
        var before = await reads.ReadAsync("chat/fresh", new HistoryQuery(0, History.Size), delivered: null, CancellationToken.None);
        await broker.PublishDirectAsync("chat/fresh", 2);
        var after = await reads.ReadAsync("chat/fresh", new HistoryQuery(0, History.Size), delivered: null, CancellationToken.None);

        Assert.Equal([1L], before.Publications.Select(p => p.Offset));
        Assert.Equal([1L, 2], after.Publications.Select(p => p.Offset));
        Assert.Equal(2, broker.Reads);
    }

    [Fact]
    public async Task A_failed_shared_read_fails_each_read_that_joined_it_and_the_next_read_works()
    {
        var broker = new GatedBroker();
        await broker.PublishDirectAsync("chat/fail", 1);
        var reads = new HistoryReads(broker);
        var first = reads.ReadAsync("chat/fail", new HistoryQuery(0, History.Size), delivered: null, CancellationToken.None);
        broker.FailNextRead = true;
        var joined = Enumerable.Range(0, 3).Select(_ => reads.ReadAsync("chat/fail", new HistoryQuery(0, History.Size), delivered: null, CancellationToken.None)).ToList();
        broker.Open();

        Assert.Single((await first.WithTimeout("the first read")).Publications);
        foreach (var read in joined)
        {
            var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => read.WithTimeout("a joined read"));
            Assert.Equal(GatedBroker.Failure, failure.Message);
        }
        Assert.Single((await reads.ReadAsync("chat/fail", new HistoryQuery(0, History.Size), delivered: null, CancellationToken.None)).Publications);
    }

    [Fact]
    public async Task A_caller_that_gives_up_leaves_the_shared_read_to_the_others()
    {
        var broker = new GatedBroker();
        await broker.PublishDirectAsync("chat/cancel", 1);
        var reads = new HistoryReads(broker);
        var first = reads.ReadAsync("chat/cancel", new HistoryQuery(0, History.Size), delivered: null, CancellationToken.None);
        using var giveUp = new CancellationTokenSource();
        var cancelled = reads.ReadAsync("chat/cancel", new HistoryQuery(0, History.Size), delivered: null, giveUp.Token);
        var other = reads.ReadAsync("chat/cancel", new HistoryQuery(0, History.Size), delivered: null, CancellationToken.None);
        giveUp.Cancel();
        broker.Open();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WithTimeout("the cancelled read"));
        Assert.Single((await other.WithTimeout("the other read")).Publications);
        Assert.Single((await first).Publications);
    }

    [Fact]
    public async Task Clients_recovering_one_channel_together_each_get_what_they_missed_in_order_through_few_reads()
    {
        var broker = new GatedBroker();
        broker.Open();
        await using var node = await TestNode.StartAsync(services: b => b.Services.Replace(ServiceDescriptor.Singleton<IBroker>(broker)));
        var position = default(StreamPosition);
        for (var i = 1; i <= 30; i++)
        {
            position = await node.Publisher.PublishAsync("chat/storm", new { i });
        }
        var clients = new List<WsClient>();
        for (var i = 0; i < 12; i++)
        {
            clients.Add(await node.ConnectAsync());
        }
        try
        {
            // The first recovery's read holds the gate; the others must all wait for the next read.
            broker.Close();
            var readsBefore = broker.Reads;
            var hub = node.Services.GetRequiredService<ChannelHub>();
            var subscribing = clients.Select((c, i) => c.SubscribeAsync("chat/storm", position.Epoch, i * 2)).ToList();
            await Timeouts.Until(() => broker.Reads == readsBefore + 1 && hub.HistoryReadsWaiting == clients.Count - 1, "every recovery waiting behind the first read");
            broker.Open();
            var results = await Task.WhenAll(subscribing).WithTimeout("the recoveries");

            Assert.Equal(readsBefore + 2, broker.Reads);
            for (var i = 0; i < clients.Count; i++)
            {
                Assert.True(results[i].GetProperty("recovered").GetBoolean());
                var missed = 30 - i * 2;
                var replayed = await clients[i].MessagesAsync(missed);
                Assert.Equal(Enumerable.Range(i * 2 + 1, missed).Select(o => (long)o), replayed.Select(m => m.GetProperty("offset").GetInt64()));
            }
            await node.Publisher.PublishAsync("chat/storm", new { i = 31 });
            foreach (var client in clients)
            {
                Assert.Equal(31, (await client.NextOfTypeAsync("message")).GetProperty("offset").GetInt64());
            }
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_kept_page_answers_later_reads_only_while_the_node_has_delivered_nothing_newer()
    {
        var broker = new GatedBroker();
        for (var i = 1; i <= 10; i++)
        {
            await broker.PublishDirectAsync("chat/kept", i);
        }
        var reads = new HistoryReads(broker);
        // A read from a position is kept, but can answer only what needs no publications.
        var single = reads.ReadAsync("chat/kept", new HistoryQuery(7, History.Size), delivered: null, CancellationToken.None);
        var shared = Enumerable.Range(0, 2).Select(_ => reads.ReadAsync("chat/kept", new HistoryQuery(2, History.Size), delivered: null, CancellationToken.None)).ToList();
        broker.Open();
        var latest = (await single).Latest;
        await Task.WhenAll(shared).WithTimeout("the shared read");
        Assert.Equal(2, broker.Reads);

        // The newest-entries page of the shared read is kept: while the node delivered up to its latest, it answers.
        foreach (var query in new[] { new HistoryQuery(4, History.Size), new HistoryQuery(null, 0), new HistoryQuery(null, 3), new HistoryQuery(10, History.Size) })
        {
            var page = await reads.ReadAsync("chat/kept", query, delivered: latest, CancellationToken.None);
            var alone = await broker.ReadAloneAsync("chat/kept", query);
            Assert.Equal(alone.Latest, page.Latest);
            Assert.Equal(alone.Publications.Select(p => p.Offset), page.Publications.Select(p => p.Offset));
        }
        Assert.Equal(2, broker.Reads);
        Assert.Equal(4, reads.Reused);


        // Nothing delivered yet, or something newer delivered: the broker is read.
        await reads.ReadAsync("chat/kept", new HistoryQuery(4, History.Size), delivered: null, CancellationToken.None);
        Assert.Equal(3, broker.Reads);

        // That read from offset 4 reached the latest: it answers reads from 4 on, not from before.
        Assert.Equal([6L, 7, 8, 9, 10], (await reads.ReadAsync("chat/kept", new HistoryQuery(5, History.Size), latest, CancellationToken.None)).Publications.Select(p => p.Offset));
        Assert.Equal(3, broker.Reads);
        Assert.Equal([4L, 5, 6, 7, 8, 9, 10], (await reads.ReadAsync("chat/kept", new HistoryQuery(3, History.Size), latest, CancellationToken.None)).Publications.Select(p => p.Offset));
        Assert.Equal(4, broker.Reads);
        // Nor one that stopped at its limit before the latest.
        await reads.ReadAsync("chat/kept", new HistoryQuery(2, 3), delivered: null, CancellationToken.None);
        await reads.ReadAsync("chat/kept", new HistoryQuery(4, 3), latest, CancellationToken.None);
        Assert.Equal(6, broker.Reads);

        var eleven = await broker.PublishDirectAsync("chat/kept", 11);
        var fresh = await reads.ReadAsync("chat/kept", new HistoryQuery(9, History.Size), delivered: eleven, CancellationToken.None);
        Assert.Equal(7, broker.Reads);
        Assert.Equal([10L, 11], fresh.Publications.Select(p => p.Offset));

        // Forgotten with the channel.
        reads.Forget("chat/kept");
        await reads.ReadAsync("chat/kept", new HistoryQuery(null, 0), delivered: eleven, CancellationToken.None);
        Assert.Equal(8, broker.Reads);
    }

    [Fact]
    public async Task A_kept_page_answers_for_a_while_only_and_expired_pages_are_swept()
    {
        var time = new ManualTimeProvider();
        var broker = new GatedBroker();
        broker.Open();
        var reads = new HistoryReads(broker, time);
        var latest = default(StreamPosition);
        for (var channel = 0; channel < 70; channel++)
        {
            latest = await broker.PublishDirectAsync($"chat/swept-{channel}", 1);
            await reads.ReadAsync($"chat/swept-{channel}", new HistoryQuery(null, 0), delivered: null, CancellationToken.None);
        }
        // The 64th page swept nothing (all fresh) and set the next sweep at 128.
        Assert.Equal(70, reads.Kept);

        await reads.ReadAsync("chat/swept-69", new HistoryQuery(null, 0), latest, CancellationToken.None);
        Assert.Equal(70, broker.Reads);
        time.Advance(HistoryReads.KeepFor);
        await reads.ReadAsync("chat/swept-69", new HistoryQuery(null, 0), latest, CancellationToken.None);
        Assert.Equal(71, broker.Reads);

        // Fresh pages are kept through the sweep at 128; the 69 expired ones go.
        for (var channel = 70; channel < 128; channel++)
        {
            await broker.PublishDirectAsync($"chat/swept-{channel}", 1);
            await reads.ReadAsync($"chat/swept-{channel}", new HistoryQuery(null, 0), delivered: null, CancellationToken.None);
        }
        Assert.Equal(128 - 69, reads.Kept);
    }

    [Fact]
    public async Task Recoveries_after_a_shared_read_reuse_its_page_until_a_publication_arrives_and_each_gets_exactly_what_it_missed()
    {
        var broker = new GatedBroker();
        broker.Open();
        await using var node = await TestNode.StartAsync(services: b => b.Services.Replace(ServiceDescriptor.Singleton<IBroker>(broker)));
        var hub = node.Services.GetRequiredService<ChannelHub>();
        await using var watcher = await node.ConnectAsync();
        await watcher.SubscribeAsync("chat/reuse");
        var position = default(StreamPosition);
        for (var i = 1; i <= 10; i++)
        {
            position = await node.Publisher.PublishAsync("chat/reuse", new { i });
        }
        await watcher.MessagesAsync(10);
        var clients = new List<WsClient>();
        try
        {
            // Three recoveries together: one read as asked, then one shared read, which is kept.
            for (var i = 0; i < 3; i++)
            {
                clients.Add(await node.ConnectAsync());
            }
            broker.Close();
            var readsBefore = broker.Reads;
            var together = clients.Select((c, i) => c.SubscribeAsync("chat/reuse", position.Epoch, i)).ToList();
            await Timeouts.Until(() => broker.Reads == readsBefore + 1 && hub.HistoryReadsWaiting == 2, "two recoveries waiting behind the first read");
            broker.Open();
            await Task.WhenAll(together).WithTimeout("the recoveries");
            Assert.Equal(readsBefore + 2, broker.Reads);

            // One by one, with nothing published meanwhile: no broker read, and the replay is exact.
            for (var i = 3; i < 6; i++)
            {
                var client = await node.ConnectAsync();
                clients.Add(client);
                var result = await client.SubscribeAsync("chat/reuse", position.Epoch, i);
                Assert.True(result.GetProperty("recovered").GetBoolean());
            }
            Assert.Equal(readsBefore + 2, broker.Reads);
            Assert.Equal(3, hub.HistoryReadsReused);

            // A publication makes the kept page stale: the next recovery reads, and gets it too.
            await node.Publisher.PublishAsync("chat/reuse", new { i = 11 });
            await watcher.NextOfTypeAsync("message");
            var late = await node.ConnectAsync();
            clients.Add(late);
            Assert.True((await late.SubscribeAsync("chat/reuse", position.Epoch, 8)).GetProperty("recovered").GetBoolean());
            Assert.Equal(readsBefore + 3, broker.Reads);

            for (var i = 0; i < 6; i++)
            {
                var replayed = await clients[i].MessagesAsync(11 - i);
                Assert.Equal(Enumerable.Range(i + 1, 11 - i).Select(o => (long)o), replayed.Select(m => m.GetProperty("offset").GetInt64()));
            }
            Assert.Equal([9L, 10, 11], (await late.MessagesAsync(3)).Select(m => m.GetProperty("offset").GetInt64()));
            await node.Publisher.PublishAsync("chat/reuse", new { i = 12 });
            foreach (var client in clients)
            {
                Assert.Equal(12, (await client.NextOfTypeAsync("message")).GetProperty("offset").GetInt64());
            }
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    /// <summary>A memory broker whose history reads wait for a gate, and are counted.</summary>
    private sealed class GatedBroker : MemoryBrokerDecorator
    {
        public const string Failure = "the history read failed";
        private volatile TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _reads;

        public int Reads => Volatile.Read(ref _reads);

        public bool FailNextRead { get; set; }

        public void Open() => _gate.TrySetResult();

        public void Close() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<StreamPosition> PublishDirectAsync(string channel, int i) =>
            Inner.PublishAsync(channel, Payload.FromJson(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { i }))), History, CancellationToken.None).AsTask();

        public async Task<HistoryPage> ReadAloneAsync(string channel, HistoryQuery query) =>
            await Inner.ReadHistoryAsync(channel, query, CancellationToken.None);

        public override async ValueTask<HistoryPage> ReadHistoryAsync(string channel, HistoryQuery query, CancellationToken cancellationToken)
        {
            var n = Interlocked.Increment(ref _reads);
            await _gate.Task.WaitAsync(cancellationToken);
            if (FailNextRead && n > 1)
            {
                FailNextRead = false;
                throw new InvalidOperationException(Failure);
            }
            return await Inner.ReadHistoryAsync(channel, query, cancellationToken);
        }
    }
}
