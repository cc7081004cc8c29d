using System.Buffers;
using System.Text;
using PubSub.Client.Transports;

namespace PubSub.Client.Tests.Protocol;

public sealed class EventStreamParserTests
{
    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\r")]
    public void Dispatches_data_at_an_empty_line_and_counts_comments_whatever_the_line_ending(string newline)
    {
        var sink = new RecordingSink();
        var stream = $"retry: 2000{newline}{newline}id: -{newline}data: {{\"type\":\"connected\"}}{newline}{newline}:{newline}{newline}data:{{\"a\":1}}{newline}event: x{newline}{newline}";

        Feed(sink, stream, chunk: int.MaxValue);

        Assert.Equal(["{\"type\":\"connected\"}", "{\"a\":1}"], sink.Frames);
        Assert.Equal(1, sink.Activity);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    public void Lines_split_across_reads_are_put_back_together(int chunk)
    {
        var sink = new RecordingSink();

        Feed(sink, "id: x\r\ndata: {\"type\":\"ping\"}\r\n\r\ndata: {\"n\":1}\ndata: {\"n\":2}\n\n", chunk);

        Assert.Equal(["{\"type\":\"ping\"}", "{\"n\":1}\n{\"n\":2}"], sink.Frames);
    }

    private static void Feed(RecordingSink sink, string text, int chunk)
    {
        var parser = new EventStreamParser(sink);
        var bytes = Encoding.UTF8.GetBytes(text);
        var pending = new List<byte>();
        for (var i = 0; i < bytes.Length; i += chunk)
        {
            pending.AddRange(bytes.AsSpan(i, Math.Min(chunk, bytes.Length - i)).ToArray());
            var buffer = new ReadOnlySequence<byte>(pending.ToArray());
            parser.Parse(ref buffer);
            pending = [.. buffer.ToArray()];
        }
    }

    private sealed class RecordingSink : ITransportSink
    {
        public List<string> Frames { get; } = [];

        public int Activity { get; private set; }

        public void OnFrame(ReadOnlySpan<byte> frame) => Frames.Add(Encoding.UTF8.GetString(frame));

        public void OnActivity() => Activity++;

        public void OnClosed(TransportClosed closed)
        {
        }
    }
}
