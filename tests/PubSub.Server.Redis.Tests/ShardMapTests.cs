using System.Text;
using PubSub.Redis;

namespace PubSub.Server.Redis.Tests;

public sealed class ShardMapTests
{
    private static readonly string[] Channels = [.. Enumerable.Range(0, 10_000).Select(i => $"chat/room-{i}")];

    [Fact]
    public void One_shard_takes_everything()
    {
        Assert.All(Channels.Take(100), c => Assert.Equal(0, ShardMap.ShardOf(c, 1)));
    }

    [Fact]
    public void Channels_spread_evenly_over_the_shards()
    {
        var counts = Channels.GroupBy(c => ShardMap.ShardOf(c, 3)).ToDictionary(g => g.Key, g => g.Count());

        Assert.Equal([0, 1, 2], counts.Keys.Order());
        Assert.All(counts.Values, count => Assert.InRange(count, 3000, 3700));
    }

    [Fact]
    public void Adding_a_shard_moves_only_channels_onto_the_new_one_and_about_its_share()
    {
        var moved = Channels.Where(c => ShardMap.ShardOf(c, 3) != ShardMap.ShardOf(c, 4)).ToList();

        Assert.All(moved, c => Assert.Equal(3, ShardMap.ShardOf(c, 4)));
        Assert.InRange(moved.Count, 2200, 2800);
    }

    [Fact]
    public void The_mapping_is_fixed_so_every_node_and_every_version_agrees()
    {
        // Changing these breaks every deployment that shards: their channels would move. The values
        // come from an independent transcription of FNV-1a, SplitMix64 and the jump hash (in Python).
        Assert.Equal([2, 1, 1, 0, 0], new[] { "chat/lobby", "news/world", "a", "n4f2a1c9", "chat/room-42" }.Select(c => ShardMap.ShardOf(c, 4)));
    }
}

public sealed class PublicationCodecTests
{
    [Fact]
    public void A_message_decodes_into_offset_epoch_and_data_of_its_kind()
    {
        string? epochCache = null;
        Assert.True(PublicationCodec.TryDecode("c", "j42:q7k2m9xa:{\"a\":\"x:y\"}"u8.ToArray(), ref epochCache, out var json));
        Assert.True(PublicationCodec.TryDecode("c", "b43:q7k2m9xa:"u8.ToArray().Concat(new byte[] { 0, 0x3A, 0xFF }).ToArray(), ref epochCache, out var binary));

        Assert.Equal(new Publication("c", 42, "q7k2m9xa", Payload.FromJson("{\"a\":\"x:y\"}"u8)), json);
        Assert.Equal(new byte[] { 0, 0x3A, 0xFF }, binary!.Data.Bytes.ToArray());
        Assert.True(binary.Data.IsBinary);
        Assert.Same(json!.Epoch, binary.Epoch);
    }

    [Theory]
    [InlineData("")]
    [InlineData("j")]
    [InlineData("j42")]
    [InlineData("j42:epoch")]
    [InlineData("x42:epoch:{}")]
    [InlineData("j:epoch:{}")]
    [InlineData("j-1:epoch:{}")]
    [InlineData("j4x:epoch:{}")]
    [InlineData("j42::{}")]
    [InlineData("j42:epoch:")]
    public void A_malformed_message_is_refused(string message)
    {
        string? epochCache = null;
        Assert.False(PublicationCodec.TryDecode("c", Encoding.UTF8.GetBytes(message), ref epochCache, out _));
    }
}
