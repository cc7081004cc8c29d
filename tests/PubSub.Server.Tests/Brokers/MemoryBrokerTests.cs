using PubSub.Brokers;

namespace PubSub.Server.Tests.Brokers;

/// <summary>The broker specification, run against the in-memory broker, on a clock the spec moves.</summary>
public sealed class MemoryBrokerSpecTests : BrokerSpec
{
    private readonly ManualTimeProvider _time = new();
    private readonly MemoryBackplane _backplane;

    public MemoryBrokerSpecTests() => _backplane = new MemoryBackplane(_time);

    protected override Task<IBroker> CreateBrokerAsync() => Task.FromResult<IBroker>(new MemoryBroker(_backplane, ownsBackplane: false));

    // Nothing expires until the clock moves, so the default timeouts serve every test.
    protected override Task<IBroker> CreateBrokerWithShortLivedEmptyStreamsAsync() => CreateBrokerAsync();

    protected override Task<Func<Task>> WatchEmptyStreamExpiryAsync(string channel) =>
        Task.FromResult<Func<Task>>(() =>
        {
            _time.Advance(MemoryBackplane.DefaultEmptyStreamIdleTimeout);
            return Task.CompletedTask;
        });

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _backplane.Dispose();
    }
}

/// <summary>What only the in-memory broker does: its TTLs and stream expiry run on the injected clock, and its streams are bounded in number.</summary>
public sealed class MemoryBrokerTests
{
    private static readonly Payload Data = Payload.FromBinary(new byte[] { 1 });

    private static readonly HistoryQuery PositionOnly = new(null, 0);

    [Fact]
    public async Task Publications_leave_history_when_their_ttl_passes()
    {
        var time = new ManualTimeProvider();
        using var backplane = new MemoryBackplane(time);
        var broker = new MemoryBroker(backplane, ownsBackplane: false);
        var history = new HistoryOptions(10, TimeSpan.FromMinutes(1));

        await broker.PublishAsync("c", Data, history, CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(40));
        await broker.PublishAsync("c", Data, history, CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(30));

        var page = await broker.ReadHistoryAsync("c", new HistoryQuery(0, 10), CancellationToken.None);
        Assert.Equal([2L], page.Publications.Select(p => p.Offset));

        time.Advance(TimeSpan.FromSeconds(31));
        page = await broker.ReadHistoryAsync("c", new HistoryQuery(0, 10), CancellationToken.None);
        Assert.Empty(page.Publications);
        Assert.Equal(2, page.Latest.Offset);
    }

    [Fact]
    public async Task A_publication_keeps_its_whole_ttl_though_the_history_entry_is_renewed_only_now_and_then()
    {
        var time = new ManualTimeProvider();
        using var backplane = new MemoryBackplane(time);
        var broker = new MemoryBroker(backplane, ownsBackplane: false);
        var history = new HistoryOptions(10, TimeSpan.FromMinutes(1));

        await broker.PublishAsync("c", Data, history, CancellationToken.None);
        // Within a tenth of the TTL of the first: the cache entry is not set again for this one.
        time.Advance(TimeSpan.FromSeconds(5));
        await broker.PublishAsync("c", Data, history, CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(59.9));

        var page = await broker.ReadHistoryAsync("c", new HistoryQuery(0, 10), CancellationToken.None);
        Assert.Equal([2L], page.Publications.Select(p => p.Offset));

        time.Advance(TimeSpan.FromSeconds(0.2));
        Assert.Empty((await broker.ReadHistoryAsync("c", new HistoryQuery(0, 10), CancellationToken.None)).Publications);
    }

    [Fact]
    public async Task An_idle_channel_loses_its_stream_and_starts_a_new_epoch()
    {
        var time = new ManualTimeProvider();
        using var backplane = new MemoryBackplane(time, streamIdleTimeout: TimeSpan.FromMinutes(10));
        var broker = new MemoryBroker(backplane, ownsBackplane: false);

        var before = await broker.PublishAsync("c", Data, HistoryOptions.None, CancellationToken.None);
        time.Advance(TimeSpan.FromMinutes(9));
        var stillThere = await broker.ReadHistoryAsync("c", new HistoryQuery(null, 0), CancellationToken.None);
        time.Advance(TimeSpan.FromMinutes(11));
        var after = await broker.PublishAsync("c", Data, HistoryOptions.None, CancellationToken.None);

        Assert.Equal(before, stillThere.Latest);
        Assert.NotEqual(before.Epoch, after.Epoch);
        Assert.Equal(1, after.Offset);
    }

    [Fact]
    public async Task An_empty_stream_lives_its_idle_timeout_after_its_last_read_then_the_channel_starts_a_new_epoch()
    {
        var time = new ManualTimeProvider();
        using var backplane = new MemoryBackplane(time, emptyStreamIdleTimeout: TimeSpan.FromMinutes(5));
        var broker = new MemoryBroker(backplane, ownsBackplane: false);

        var read = await broker.ReadHistoryAsync("renewed", PositionOnly, CancellationToken.None);
        var gone = await broker.ReadHistoryAsync("gone", PositionOnly, CancellationToken.None);
        time.Advance(TimeSpan.FromMinutes(4));
        var again = await broker.ReadHistoryAsync("renewed", PositionOnly, CancellationToken.None);
        time.Advance(TimeSpan.FromMinutes(4));
        var continued = await broker.PublishAsync("renewed", Data, HistoryOptions.None, CancellationToken.None);
        var restarted = await broker.PublishAsync("gone", Data, HistoryOptions.None, CancellationToken.None);

        Assert.Equal(read.Latest, again.Latest);
        Assert.Equal(new StreamPosition(1, read.Latest.Epoch), continued);
        Assert.NotEqual(gone.Latest.Epoch, restarted.Epoch);
        Assert.Equal(1, restarted.Offset);
    }

    [Fact]
    public async Task Beyond_the_cap_the_least_recently_read_empty_stream_goes_and_its_channel_starts_a_new_epoch()
    {
        using var backplane = new MemoryBackplane(new ManualTimeProvider(), maxEmptyStreams: 3);
        var broker = new MemoryBroker(backplane, ownsBackplane: false);
        var first = new Dictionary<string, StreamPosition>();
        foreach (var channel in new[] { "a", "b", "c" })
        {
            first[channel] = (await broker.ReadHistoryAsync(channel, PositionOnly, CancellationToken.None)).Latest;
        }

        // Read again, "a" is no longer the least recently used: the fourth name pushes "b" out.
        await broker.ReadHistoryAsync("a", PositionOnly, CancellationToken.None);
        await broker.ReadHistoryAsync("d", PositionOnly, CancellationToken.None);
        var held = backplane.StreamCount;
        var a = await broker.PublishAsync("a", Data, HistoryOptions.None, CancellationToken.None);
        var b = await broker.PublishAsync("b", Data, HistoryOptions.None, CancellationToken.None);
        var c = await broker.PublishAsync("c", Data, HistoryOptions.None, CancellationToken.None);

        Assert.Equal((3, 0), held);
        Assert.Equal(new StreamPosition(1, first["a"].Epoch), a);
        Assert.NotEqual(first["b"].Epoch, b.Epoch);
        Assert.Equal(1, b.Offset);
        Assert.Equal(new StreamPosition(1, first["c"].Epoch), c);
    }

    [Fact]
    public async Task A_first_publication_moves_a_stream_out_of_the_empty_ones_keeping_its_epoch()
    {
        var time = new ManualTimeProvider();
        using var backplane = new MemoryBackplane(time, maxEmptyStreams: 1, emptyStreamIdleTimeout: TimeSpan.FromMinutes(5));
        var broker = new MemoryBroker(backplane, ownsBackplane: false);

        var read = await broker.ReadHistoryAsync("c", PositionOnly, CancellationToken.None);
        var first = await broker.PublishAsync("c", Data, HistoryOptions.None, CancellationToken.None);
        // Neither a full table of empty streams nor their short timeout touches it now.
        await broker.ReadHistoryAsync("other", PositionOnly, CancellationToken.None);
        time.Advance(TimeSpan.FromMinutes(6));
        var second = await broker.PublishAsync("c", Data, HistoryOptions.None, CancellationToken.None);

        Assert.Equal(new StreamPosition(1, read.Latest.Epoch), first);
        Assert.Equal(new StreamPosition(2, read.Latest.Epoch), second);
        Assert.Equal((0, 1), backplane.StreamCount);
    }

    [Fact]
    public async Task Beyond_the_cap_the_least_recently_used_published_stream_goes_with_its_history_and_restarts_under_a_new_epoch()
    {
        using var backplane = new MemoryBackplane(new ManualTimeProvider(), maxStreams: 2);
        var broker = new MemoryBroker(backplane, ownsBackplane: false);
        var history = new HistoryOptions(10, TimeSpan.FromMinutes(5));
        var a = await broker.PublishAsync("a", Data, history, CancellationToken.None);
        var b = await broker.PublishAsync("b", Data, history, CancellationToken.None);

        // A read counts as a use: "b" is now the least recently used, and the third channel pushes it out.
        await broker.ReadHistoryAsync("a", PositionOnly, CancellationToken.None);
        await broker.PublishAsync("c", Data, history, CancellationToken.None);
        var held = backplane.StreamCount;
        var continued = await broker.PublishAsync("a", Data, history, CancellationToken.None);
        var restarted = await broker.PublishAsync("b", Data, history, CancellationToken.None);
        var bHistory = await broker.ReadHistoryAsync("b", new HistoryQuery(0, 10), CancellationToken.None);

        Assert.Equal((0, 2), held);
        Assert.NotEqual(b.Epoch, restarted.Epoch);
        Assert.Equal(1, restarted.Offset);
        Assert.Equal([restarted], bHistory.Publications.Select(p => p.Position));
        Assert.Equal(new StreamPosition(2, a.Epoch), continued);
    }
}
