using PubSub.Brokers;

namespace PubSub.Server.Tests.Brokers;

/// <summary>The broker specification, run against the in-memory broker.</summary>
public sealed class MemoryBrokerSpecTests : BrokerSpec
{
    private readonly MemoryBackplane _backplane = new();

    protected override Task<IBroker> CreateBrokerAsync() => Task.FromResult<IBroker>(new MemoryBroker(_backplane, ownsBackplane: false));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _backplane.Dispose();
    }
}

/// <summary>What only the in-memory broker does: its TTLs and stream expiry run on the injected clock.</summary>
public sealed class MemoryBrokerTests
{
    private static readonly Payload Data = Payload.FromBinary(new byte[] { 1 });

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
}
