using System.Text;
using System.Text.Json;

namespace PubSub.Bench.Protocols;

/// <summary>PubSub protocol v1, JSON frames (docs/protocol.md, section 2).</summary>
public class PubSubProtocol : WireProtocol
{
    public static readonly PubSubProtocol Instance = new();

    protected PubSubProtocol()
    {
    }

    private static readonly byte[] PongFrame = """{"type":"pong"}"""u8.ToArray();

    public override string Name => "pubsub";

    public override bool TryCutFrame(ReadOnlySpan<byte> data, bool unitComplete, out Range frame, out int consumed) =>
        CutAtSeparator(data, (byte)'\n', unitEndsFrame: true, unitComplete, out frame, out consumed);

    public override byte[]? Handshake => null;

    public override byte[]? Pong => PongFrame;

    public override byte[]? KeepAlive => null;

    public override byte[] Subscribe(string channel, long id) =>
        Encoding.UTF8.GetBytes($$"""{"type":"subscribe","id":{{id}},"channel":{{JsonSerializer.Serialize(channel)}}}""");

    // No id: the server sends no reply on success, as a fire-and-forget publisher would want;
    // failures still come back as error frames, which the generator counts.
    public override PublishWriter CreatePublishWriter(string channel, int payloadSize) => new(
        Encoding.UTF8.GetBytes($$"""{"type":"publish","channel":{{JsonSerializer.Serialize(channel)}},"data":"""),
        payloadSize,
        "}"u8);

    public override FrameInfo Classify(ReadOnlySpan<byte> frame)
    {
        if (!TryParseObject(frame, out var root))
        {
            return new FrameInfo(FrameKind.Other);
        }
        var id = root.TryGetProperty("id", out var idValue) && idValue.ValueKind == JsonValueKind.Number ? idValue.GetInt64() : 0;
        return TextOf(root, "type") switch
        {
            "connected" => new FrameInfo(FrameKind.Connected, 0, TextOf(root, "session")),
            "subscribed" => new FrameInfo(FrameKind.Subscribed),
            "reply" => new FrameInfo(FrameKind.Reply, id, root.TryGetProperty("error", out var error) ? TextOf(error, "code") ?? "error" : null),
            "ping" => new FrameInfo(FrameKind.Ping),
            "disconnect" => new FrameInfo(FrameKind.Disconnect, 0, root.TryGetProperty("code", out var code) ? $"{code} {TextOf(root, "reason")}" : null),
            "error" => new FrameInfo(FrameKind.Error, 0, TextOf(root, "code") ?? "error"),
            _ => new FrameInfo(FrameKind.Other),
        };
    }
}
