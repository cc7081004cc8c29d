using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using PubSub.Redis;
using StackExchange.Redis;

namespace PubSub.Server.Redis.Tests;

/// <summary>
/// The feed's ordering rules against a fake history, so that each interleaving of live
/// publications and recovery reads can be set up exactly. The fault tests run the same code for real.
/// </summary>
public sealed class ChannelFeedTests
{
    private const string Channel = "feed/test";

    private readonly FakeSource _source = new();

    private ChannelFeed NewFeed(StreamPosition? floor = null)
    {
        var feed = NewFeedBeforeItsFloor();
        feed.SetFloor(floor ?? _source.Latest);
        return feed;
    }

    /// <summary>A feed whose subscribe has not yet read where the channel stands.</summary>
    private ChannelFeed NewFeedBeforeItsFloor() =>
        new(Channel, null, new RedisChannel(Channel, RedisChannel.PatternMode.Literal), _source);

    [Fact]
    public void Live_publications_in_order_are_delivered_and_repeats_dropped()
    {
        var feed = NewFeed();
        var (p1, p2) = (_source.Append("a"), _source.Append("b"));

        feed.OnPublication(p1);
        feed.OnPublication(p2);
        feed.OnPublication(p1);

        Assert.Equal([1L, 2], _source.Delivered.Select(p => p.Offset));
        Assert.Equal(0, _source.Reads);
    }

    [Fact]
    public void A_live_feed_is_deaf_when_what_Redis_held_a_check_ago_is_still_not_delivered()
    {
        var feed = NewFeed();
        var (p1, p2) = (_source.Append("a"), _source.Append("b"));
        feed.OnPublication(p1);

        // First check: nothing to compare with yet. Second: 2 was in Redis at the first, and never came.
        var first = feed.IsDeaf(p2.Position);
        var second = feed.IsDeaf(p2.Position);
        feed.ResetListeningCheck();
        feed.OnPublication(p2);
        var p3 = _source.Append("c");
        // A feed that hears is at most a moment behind: 3, published since the last check, is not missed yet.
        var afterRenewal = feed.IsDeaf(p2.Position);
        var hearing = feed.IsDeaf(p3.Position);

        Assert.False(first);
        Assert.True(second);
        Assert.False(afterRenewal);
        Assert.False(hearing);
    }

    [Fact]
    public async Task A_gap_is_filled_from_history_before_the_publications_held_meanwhile()
    {
        var feed = NewFeed();
        var all = Enumerable.Range(1, 6).Select(i => _source.Append($"{i}")).ToList();
        feed.OnPublication(all[0]);
        var read = _source.HoldNextRead();

        feed.OnPublication(all[3]);   // 2 and 3 were missed
        await read.Started.Task.WithTimeout("the recovery read");
        feed.OnPublication(all[4]);   // arrives while history is read
        read.Release();
        await _source.DeliveredCountAsync(5);
        feed.OnPublication(all[5]);

        Assert.Equal([1L, 2, 3, 4, 5, 6], _source.Delivered.Select(p => p.Offset));
        Assert.Equal(["1", "2", "3", "4", "5", "6"], _source.Delivered.Select(p => p.Data.ToString()));
    }

    [Fact]
    public async Task Without_history_a_gap_is_logged_as_lost_and_later_publications_flow_without_more_reads()
    {
        _source.KeepsHistory = false;
        var feed = NewFeed();
        var all = Enumerable.Range(1, 7).Select(i => _source.Append($"{i}")).ToList();
        feed.OnPublication(all[0]);

        // 2 and 6 never arrive; 4, 5 and 7 were published before the recovery read and arrive after it.
        feed.OnPublication(all[2]);
        await _source.DeliveredCountAsync(2);
        feed.OnPublication(all[3]);
        feed.OnPublication(all[4]);
        feed.OnPublication(all[6]);

        Assert.Equal([1L, 3, 4, 5, 7], _source.Delivered.Select(p => p.Offset));
        Assert.Equal(1, _source.Reads);
        Assert.Contains(_source.Log.At(LogLevel.Warning), m => m.Contains("lost publications 4 to 7", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_new_epoch_from_its_first_offset_is_delivered_and_a_later_one_is_read_from_its_start()
    {
        var feed = NewFeed();
        feed.OnPublication(_source.Append("a"));
        _source.NewEpoch();
        var fresh = _source.Append("b");
        feed.OnPublication(fresh);
        _source.NewEpoch();
        var missed = _source.Append("c");
        var seen = _source.Append("d");

        feed.OnPublication(seen);
        await _source.DeliveredCountAsync(4);

        Assert.Equal([fresh.Position, missed.Position, seen.Position], _source.Delivered.Skip(1).Select(p => p.Position));
    }

    [Fact]
    public async Task After_a_dropped_connection_what_was_missed_is_read_again_until_it_succeeds()
    {
        var feed = NewFeed();
        feed.OnPublication(_source.Append("1"));
        feed.Suspend();
        var missed = _source.Append("2");
        var live = _source.Append("3");
        _source.FailingReads = 2;
        _source.UnexpectedFailures = 1;

        feed.OnPublication(live);     // resubscribed before the recovery began: held
        feed.Recover();
        await _source.DeliveredCountAsync(3);

        Assert.Equal([1L, 2, 3], _source.Delivered.Select(p => p.Offset));
        Assert.Equal(4, _source.Reads);
        Assert.False(feed.IsHolding);
        Assert.Equal(missed, _source.Delivered[1]);
    }

    [Fact]
    public async Task A_held_publication_of_an_epoch_the_channel_left_before_the_read_is_dropped()
    {
        var feed = NewFeed();
        feed.OnPublication(_source.Append("1"));
        var oldEpoch = _source.Append("2");
        _ = _source.Append("3");
        feed.Suspend();
        feed.OnPublication(oldEpoch with { Offset = 3 });
        _source.NewEpoch();
        var current = _source.Append("x");

        feed.Recover();
        await _source.DeliveredCountAsync(2);
        feed.OnPublication(_source.Append("y"));

        Assert.Equal([current.Position, new StreamPosition(2, current.Epoch)], _source.Delivered.Skip(1).Select(p => p.Position));
    }

    [Fact]
    public async Task A_feed_left_holding_without_a_recovery_is_recovered_by_the_safety_net()
    {
        var feed = NewFeed();
        feed.Suspend();
        var missed = _source.Append("1");

        feed.RecoverIfStalled();
        await _source.DeliveredCountAsync(1);

        Assert.Equal([missed], _source.Delivered);
        Assert.False(feed.IsHolding);
    }

    [Fact]
    public async Task A_restore_before_the_subscribe_read_its_floor_replays_nothing_from_before_the_floor()
    {
        // Published before the node subscribed: never owed to this feed.
        _source.Append("old 1");
        _source.Append("old 2");
        var feed = NewFeedBeforeItsFloor();

        // The pub/sub connection drops and comes back between the SUBSCRIBE and the read of the floor.
        feed.Suspend();
        feed.Recover();
        var stateWithoutFloor = feed.State;
        feed.RecoverIfStalled();
        var heldLive = _source.Append("3");
        feed.OnPublication(heldLive);
        var readsWithoutFloor = _source.Reads;
        feed.SetFloor(new StreamPosition(2, heldLive.Epoch));
        await _source.DeliveredCountAsync(1);
        var next = _source.Append("4");
        feed.OnPublication(next);

        Assert.Equal(ChannelFeed.FeedState.Holding, stateWithoutFloor);
        Assert.Equal(0, readsWithoutFloor);
        Assert.Equal([heldLive, next], _source.Delivered);
        Assert.False(feed.IsHolding);
    }

    [Fact]
    public async Task What_a_feed_held_before_its_floor_is_delivered_even_at_or_below_the_floor()
    {
        var feed = NewFeedBeforeItsFloor();
        feed.Suspend();
        feed.Recover();
        // Published once the subscription was in effect, before the floor was read: at the floor, and held.
        var held = _source.Append("1");
        feed.OnPublication(held);

        feed.SetFloor(_source.Latest);
        await _source.DeliveredCountAsync(1);

        Assert.Equal([held], _source.Delivered);
        Assert.False(feed.IsHolding);
    }

    [Fact]
    public void Nothing_is_delivered_after_the_feed_retired()
    {
        var feed = NewFeed();
        feed.Retire();

        feed.OnPublication(_source.Append("1"));
        feed.Recover();

        Assert.Empty(_source.Delivered);
    }

    private sealed class FakeSource : IFeedSource
    {
        public void DeliverPresence(PresenceEvent presence)
        {
        }

        private readonly List<Publication> _stream = [];
        private readonly Channel<Publication> _deliveries = System.Threading.Channels.Channel.CreateUnbounded<Publication>();
        private readonly Lock _gate = new();
        private HeldRead? _held;
        private string _epoch = "epoch0";
        private int _epochs;
        private long _offset;

        public RecordingLogger<ChannelFeed> Log { get; } = new();

        public ILogger Logger => Log;

        public List<Publication> Delivered { get; } = [];

        public bool KeepsHistory { get; set; } = true;

        public int FailingReads { get; set; }

        /// <summary>Reads that fail with something other than Redis being down, before the failing ones.</summary>
        public int UnexpectedFailures { get; set; }

        public int Reads { get; private set; }

        public StreamPosition Latest => new(_offset, _epoch);

        public Publication Append(string data)
        {
            lock (_gate)
            {
                // Digits become a JSON number, anything else a JSON string.
                var json = data.All(char.IsAsciiDigit) ? data : $"\"{data}\"";
                var publication = new Publication(Channel, ++_offset, _epoch, Payload.FromJson(Encoding.UTF8.GetBytes(json)));
                _stream.Add(publication);
                return publication;
            }
        }

        public void NewEpoch()
        {
            lock (_gate)
            {
                _epoch = "epoch" + ++_epochs;
                _offset = 0;
                _stream.Clear();
            }
        }

        public HeldRead HoldNextRead() => _held = new HeldRead();

        public async Task DeliveredCountAsync(int count)
        {
            while (true)
            {
                lock (Delivered)
                {
                    if (Delivered.Count >= count)
                    {
                        return;
                    }
                }
                await _deliveries.Reader.WaitToReadAsync().AsTask().WithTimeout($"{count} deliveries");
                _deliveries.Reader.TryRead(out _);
            }
        }

        public void Deliver(Publication publication)
        {
            lock (Delivered)
            {
                Delivered.Add(publication);
            }
            _deliveries.Writer.TryWrite(publication);
        }

        public async Task<HistoryPage> ReadAsync(string channel, long since, int limit)
        {
            Reads++;
            if (Interlocked.Exchange(ref _held, null) is { } held)
            {
                held.Started.TrySetResult();
                await held.Released.Task;
            }
            if (UnexpectedFailures > 0)
            {
                UnexpectedFailures--;
                throw new InvalidCastException("An answer of an unexpected shape (fake).");
            }
            if (FailingReads > 0)
            {
                FailingReads--;
                throw new PubSubException(PubSubErrorCodes.Unavailable, "Redis is down (fake).");
            }
            lock (_gate)
            {
                var publications = KeepsHistory ? _stream.Where(p => p.Offset > since).Take(limit).ToList() : [];
                return new HistoryPage(Latest, publications);
            }
        }

        public Task RestartEpochAsync(string channel, StreamPosition rewound, long deliveredOffset)
        {
            NewEpoch();
            return Task.CompletedTask;
        }

        public Task DelayRetryAsync() => Task.CompletedTask;

        public void OnRecovered(string channel, int delivered)
        {
        }
    }

    private sealed class HeldRead
    {
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Released { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => Released.TrySetResult();
    }
}
