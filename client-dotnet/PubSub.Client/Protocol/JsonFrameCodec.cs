using System.Text.Json;

namespace PubSub.Client.Protocol;

/// <summary>The JSON encoding (docs/protocol.md, section 2): <see cref="ClientFrames"/>, <see cref="ServerFrameParser"/>, <see cref="FrameBatch"/>.</summary>
internal sealed class JsonFrameCodec : FrameCodec
{
    public static readonly JsonFrameCodec Instance = new();

    private JsonFrameCodec()
    {
    }

    public override PubSubEncoding Encoding => PubSubEncoding.Json;

    // text/plain: a browser sends it without a CORS preflight, and the server takes it as JSON.
    public override string ContentType => "text/plain";

    public override ReadOnlySpan<byte> Separator => "\n"u8;

    public override byte[] Pong => ClientFrames.Pong;

    public override byte[] Close => ClientFrames.Close;

    public override byte[] Subscribe(long id, string channel, StreamPosition? since) => ClientFrames.Subscribe(id, channel, since);

    public override byte[] Unsubscribe(long id, string channel) => ClientFrames.Unsubscribe(id, channel);

    public override byte[] Publish(long id, string channel, Action<Utf8JsonWriter> writeData, string? idempotencyKey = null) =>
        ClientFrames.Publish(id, channel, writeData, idempotencyKey);

    public override byte[] PublishBinary(long id, string channel, ReadOnlySpan<byte> bytes, string? idempotencyKey = null) =>
        ClientFrames.PublishBinary(id, channel, bytes, idempotencyKey);

    public override byte[] Presence(long id, string channel) => ClientFrames.ChannelRequest("presence"u8, id, channel);

    public override byte[] PresenceStats(long id, string channel) => ClientFrames.ChannelRequest("presence_stats"u8, id, channel);

    public override byte[] History(long id, string channel, StreamPosition? since, int? limit) => ClientFrames.History(id, channel, since, limit);

    public override byte[] Ping(long id) => ClientFrames.Ping(id);

    public override ServerFrame Parse(ReadOnlySpan<byte> frame) => ServerFrameParser.Parse(frame);

    public override void Split<TState>(ReadOnlyMemory<byte> batch, TState state, FrameCallback<TState> onFrame) =>
        FrameBatch.Split(batch.Span, state, onFrame);
}
