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
        var first = reads.ReadAsync("chat/storm", new HistoryQuery(3, History.Size), CancellationToken.None);
        var queries = Enumerable.Range(0, 20).Select(since => new HistoryQuery(since, History.Size))
            .Append(new HistoryQuery(null, 0))
            .Append(new HistoryQuery(null, 5))
            .ToList();
        var joined = queries.Select(q => reads.ReadAsync("chat/storm", q, CancellationToken.None)).ToList();

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
        var before = await reads.ReadAsync("chat/fresh", new HistoryQuery(0, History.Size), CancellationToken.None);
        await broker.PublishDirectAsync("chat/fresh", 2);
        var after = await reads.ReadAsync("chat/fresh", new HistoryQuery(0, History.Size), CancellationToken.None);

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
        var first = reads.ReadAsync("chat/fail", new HistoryQuery(0, History.Size), CancellationToken.None);
        broker.FailNextRead = true;
        var joined = Enumerable.Range(0, 3).Select(_ => reads.ReadAsync("chat/fail", new HistoryQuery(0, History.Size), CancellationToken.None)).ToList();
        broker.Open();

        Assert.Single((await first.WithTimeout("the first read")).Publications);
        foreach (var read in joined)
        {
            var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => read.WithTimeout("a joined read"));
            Assert.Equal(GatedBroker.Failure, failure.Message);
        }
        Assert.Single((await reads.ReadAsync("chat/fail", new HistoryQuery(0, History.Size), CancellationToken.None)).Publications);
    }

    [Fact]
    public async Task A_caller_that_gives_up_leaves_the_shared_read_to_the_others()
    {
        var broker = new GatedBroker();
        await broker.PublishDirectAsync("chat/cancel", 1);
        var reads = new HistoryReads(broker);
        var first = reads.ReadAsync("chat/cancel", new HistoryQuery(0, History.Size), CancellationToken.None);
        using var giveUp = new CancellationTokenSource();
        var cancelled = reads.ReadAsync("chat/cancel", new HistoryQuery(0, History.Size), giveUp.Token);
        var other = reads.ReadAsync("chat/cancel", new HistoryQuery(0, History.Size), CancellationToken.None);
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
