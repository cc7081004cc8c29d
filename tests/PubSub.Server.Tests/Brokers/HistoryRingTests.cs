using System.Text;
using PubSub.Brokers;

namespace PubSub.Server.Tests.Brokers;

/// <summary>
/// The memory broker's history ring: entries and their bytes in rings, so it must give back
/// exactly what a list of publications would, across wrap-arounds, growth, the size limit and
/// expiry.
/// </summary>
public sealed class HistoryRingTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Reads_from_a_position_or_the_newest_give_back_each_payload_exactly_with_its_kind()
    {
        var ring = new HistoryRing();
        ring.Append(1, Payload.FromTrustedJson("{\"a\":1}"u8.ToArray()), Now.AddMinutes(5), size: 10);
        ring.Append(2, Payload.FromBinary(new byte[] { 0, 255, 10 }), Now.AddMinutes(5), size: 10);
        ring.Append(3, Payload.FromTrustedJson("\"three\""u8.ToArray()), Now.AddMinutes(5), size: 10);

        var all = ring.Read(new HistoryQuery(null, 10), "chat/ring", "e1");
        var after1 = ring.Read(new HistoryQuery(1, 1), "chat/ring", "e1");
        var newest = ring.Read(new HistoryQuery(null, 2), "chat/ring", "e1");

        Assert.Equal([1L, 2, 3], all.Select(p => p.Offset));
        Assert.All(all, p => Assert.Equal(("chat/ring", "e1"), (p.Channel, p.Epoch)));
        Assert.Equal("{\"a\":1}", Encoding.UTF8.GetString(all[0].Data.Bytes.Span));
        Assert.True(all[1].Data.IsBinary);
        Assert.Equal(new byte[] { 0, 255, 10 }, all[1].Data.Bytes.ToArray());
        Assert.False(all[2].Data.IsBinary);
        Assert.Equal([2L], after1.Select(p => p.Offset));
        Assert.Equal([2L, 3], newest.Select(p => p.Offset));
        Assert.Empty(ring.Read(new HistoryQuery(3, 10), "chat/ring", "e1"));
    }

    [Fact]
    public void Expired_entries_go_first_and_an_emptied_ring_takes_new_ones()
    {
        var ring = new HistoryRing();
        ring.Append(1, Payload.FromBinary(new byte[] { 1 }), Now.AddSeconds(1), size: 10);
        ring.Append(2, Payload.FromBinary(new byte[] { 2 }), Now.AddSeconds(2), size: 10);

        ring.Prune(Now.AddSeconds(1));
        Assert.Equal([2L], ring.Read(new HistoryQuery(null, 10), "c", "e").Select(p => p.Offset));
        ring.Prune(Now.AddSeconds(3));
        Assert.Equal(0, ring.Count);
        ring.Append(3, Payload.FromBinary(new byte[] { 3, 3 }), Now.AddSeconds(9), size: 10);
        Assert.Equal(new byte[] { 3, 3 }, Assert.Single(ring.Read(new HistoryQuery(null, 10), "c", "e")).Data.Bytes.ToArray());
    }

    [Fact]
    public void Thousands_of_appends_of_mixed_sizes_read_back_as_a_plain_list_would()
    {
        // A fixed seed: the same sequence every run, wrapping the byte ring and growing both rings.
        var random = new Random(1217);
        var ring = new HistoryRing();
        var model = new List<(long Offset, byte[] Bytes, bool Binary)>();
        var size = 25;
        for (long offset = 1; offset <= 3000; offset++)
        {
            if (offset % 700 == 0)
            {
                size = size == 25 ? 7 : 25; // the template's size changed
            }
            var bytes = new byte[random.Next(0, offset % 500 == 0 ? 5000 : 300)];
            random.NextBytes(bytes);
            var binary = random.Next(2) == 0;
            ring.Append(offset, binary ? Payload.FromBinary(bytes) : Payload.FromTrustedJson(bytes), Now.AddHours(1), size);
            model.Add((offset, bytes, binary));
            while (model.Count > size)
            {
                model.RemoveAt(0);
            }

            Assert.Equal(model.Count, ring.Count);
            if (offset % 37 == 0)
            {
                var since = model[random.Next(model.Count)].Offset - 1;
                var limit = random.Next(1, 30);
                var expected = model.Where(m => m.Offset > since).Take(limit).ToList();
                var read = ring.Read(new HistoryQuery(since, limit), "c", "e");
                Assert.Equal(expected.Select(m => m.Offset), read.Select(p => p.Offset));
                Assert.Equal(expected.Select(m => Convert.ToHexString(m.Bytes)), read.Select(p => Convert.ToHexString(p.Data.Bytes.Span)));
                Assert.Equal(expected.Select(m => m.Binary), read.Select(p => p.Data.IsBinary));
                Assert.Equal(model.TakeLast(limit).Select(m => m.Offset), ring.Read(new HistoryQuery(null, limit), "c", "e").Select(p => p.Offset));
            }
        }
    }

    [Fact]
    public void A_ring_lives_outside_the_ephemeral_generations_from_its_first_entry_through_every_growth()
    {
        // While a channel's history fills, its rings grow; were they ordinary arrays, every
        // ephemeral collection until then would copy them.
        var ring = new HistoryRing();
        Assert.True(ring.IsOutOfEphemeralGenerations);
        for (var offset = 1; offset <= 100; offset++)
        {
            ring.Append(offset, Payload.FromBinary(new byte[120]), Now.AddHours(1), size: 100);
            Assert.True(ring.IsOutOfEphemeralGenerations);
        }
        Assert.Equal(100, ring.Count);
    }

    [Fact]
    public void Once_full_a_ring_stores_each_publication_without_allocating()
    {
        // What history is for: a retained publication must be nothing the GC has to trace or copy.
        var ring = new HistoryRing();
        var payloads = Enumerable.Range(0, 16).Select(i => Payload.FromBinary(new byte[100 + (i * 3)])).ToArray();
        for (var offset = 1; offset <= 300; offset++)
        {
            ring.Append(offset, payloads[offset % payloads.Length], Now.AddHours(1), size: 100);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var offset = 301; offset <= 5300; offset++)
        {
            ring.Append(offset, payloads[offset % payloads.Length], Now.AddHours(1), size: 100);
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Equal(100, ring.Count);
        Assert.Equal(5300, ring.Read(new HistoryQuery(null, 1), "c", "e").Single().Offset);
    }
}
