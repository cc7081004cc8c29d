using System.Buffers;
using MessagePack;
using PubSub.Bench.Clients;
using PubSub.Bench.Protocols;

namespace PubSub.Bench.Tests;

/// <summary>
/// The generator's MessagePack framing: value lengths read from headers agree with
/// MessagePack-CSharp's reader, batches yield each frame, SignalR's length-prefixed messages are
/// joined across units, and the deflate answer is read as RFC 7692 says.
/// </summary>
public class MessagePackFramingTests
{
    private static byte[] Write(MessagePackFrameWriter write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        write(ref writer);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    private delegate void MessagePackFrameWriter(ref MessagePackWriter writer);

    /// <summary>Values of every format family, small and in their wider forms.</summary>
    private static IEnumerable<byte[]> Values()
    {
        yield return Write((ref MessagePackWriter w) => w.Write(5));
        yield return Write((ref MessagePackWriter w) => w.Write(-5));
        yield return Write((ref MessagePackWriter w) => w.Write(300));
        yield return Write((ref MessagePackWriter w) => w.Write(70_000L));
        yield return Write((ref MessagePackWriter w) => w.Write(long.MaxValue));
        yield return Write((ref MessagePackWriter w) => w.Write(1.5));
        yield return Write((ref MessagePackWriter w) => w.Write(1.5f));
        yield return Write((ref MessagePackWriter w) => w.WriteNil());
        yield return Write((ref MessagePackWriter w) => w.Write(true));
        yield return Write((ref MessagePackWriter w) => w.Write("short"));
        yield return Write((ref MessagePackWriter w) => w.Write(new string('x', 40)));
        yield return Write((ref MessagePackWriter w) => w.Write(new string('x', 300)));
        yield return Write((ref MessagePackWriter w) => w.Write(new string('x', 70_000)));
        yield return Write((ref MessagePackWriter w) => w.Write(new byte[] { 1, 2, 3 }));
        yield return Write((ref MessagePackWriter w) => w.Write(new byte[300]));
        yield return Write((ref MessagePackWriter w) => w.WriteExtensionFormat(new ExtensionResult(5, new byte[4])));
        yield return Write((ref MessagePackWriter w) => w.WriteExtensionFormat(new ExtensionResult(5, new byte[7])));
        yield return Write((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(2);
            w.Write("a");
            w.WriteArrayHeader(20);
            for (var i = 0; i < 20; i++)
            {
                w.Write(i);
            }
            w.Write("b");
            w.WriteMapHeader(0);
        });
    }

    [Fact]
    public void Value_lengths_agree_with_MessagePack_CSharp_and_a_cut_value_is_not_complete()
    {
        foreach (var value in Values())
        {
            var reader = new MessagePackReader(value);
            reader.Skip();
            Assert.Equal(reader.Consumed, MessagePackFraming.ValueLength(value));
            Assert.Equal(value.Length, MessagePackFraming.ValueLength([.. value, 0xc0]));
            for (var cut = 0; cut < value.Length; cut++)
            {
                Assert.Equal(-1, MessagePackFraming.ValueLength(value.AsSpan(0, cut)));
            }
        }
    }

    [Fact]
    public void A_pubsub_MessagePack_batch_yields_each_delivery_and_answers_a_ping()
    {
        var client = new FramingClient(PubSubMessagePackProtocol.Instance);
        var batch = new List<byte>();
        batch.AddRange(Delivery(0));
        batch.AddRange(Write((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(1);
            w.Write("type");
            w.Write("ping");
        }));
        batch.AddRange(Delivery(1));

        client.Feed([.. batch], unitComplete: true);

        Assert.Equal(2, client.Stats!.Received);
        Assert.Equal(3, client.FramesReceived);
        Assert.Equal(1, client.Sent);
    }

    [Fact]
    public void SignalR_MessagePack_messages_split_anywhere_across_units_are_joined()
    {
        var stream = new List<byte>();
        stream.AddRange("{}\u001e"u8.ToArray());
        for (var i = 0; i < 4; i++)
        {
            var message = Write((ref MessagePackWriter w) =>
            {
                w.WriteArrayHeader(5);
                w.Write(1);
                w.WriteMapHeader(0);
                w.WriteNil();
                w.Write("message");
                w.WriteArrayHeader(2);
                w.Write("bench/1");
                w.WriteString(Payload(i));
            });
            stream.Add((byte)message.Length);
            stream.AddRange(message);
        }
        var bytes = stream.ToArray();

        for (var split = 0; split <= bytes.Length; split++)
        {
            var client = new FramingClient(SignalRMessagePackProtocol.Instance);
            client.Feed(bytes[..split], unitComplete: true);
            client.Feed(bytes[split..], unitComplete: true);
            Assert.Equal(4, client.Stats!.Received);
            Assert.Equal(0, client.Stats.OutOfOrder);
            Assert.True(client.Connected.IsCompletedSuccessfully);
        }
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("x-other", false)]
    [InlineData("permessage-deflate", true)]
    [InlineData("permessage-deflate; client_max_window_bits=12; server_no_context_takeover", true)]
    public void The_deflate_answer_decides_whether_the_connection_is_compressed(string? answer, bool compressed)
    {
        var options = WebSocketConnector.DeflateOptions(answer);

        Assert.Equal(compressed, options is not null);
        if (answer?.Contains("=12", StringComparison.Ordinal) == true)
        {
            Assert.Equal(12, options!.ClientMaxWindowBits);
            Assert.False(options.ServerContextTakeover);
            Assert.True(options.ClientContextTakeover);
        }
    }

    private static byte[] Payload(long sequence)
    {
        var payload = new byte[40];
        BenchPayload.Write(payload, payload.Length, timestamp: 1, sequence);
        return payload;
    }

    private static byte[] Delivery(long sequence) => Write((ref MessagePackWriter w) =>
    {
        w.WriteMapHeader(5);
        w.Write("type");
        w.Write("message");
        w.Write("channel");
        w.Write("bench/1");
        w.Write("offset");
        w.Write(sequence + 1);
        w.Write("epoch");
        w.Write("e");
        w.Write("data");
        w.WriteString(Payload(sequence));
    });
}
