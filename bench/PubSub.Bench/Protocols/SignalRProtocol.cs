using System.Globalization;
using System.Text;
using System.Text.Json;

namespace PubSub.Bench.Protocols;

/// <summary>
/// ASP.NET Core SignalR's JSON hub protocol, version 1, written here from its specification
/// (the SignalR client package does not restore from this machine's NuGet copy): every message is
/// a JSON object followed by the record separator 0x1E; the client opens with a handshake.
/// The reference hub (bench/SignalRReference) has <c>Subscribe(topic)</c> and
/// <c>Publish(topic, payload)</c> and calls <c>message(topic, payload)</c> on subscribers.
/// </summary>
public sealed class SignalRProtocol : WireProtocol
{
    public const byte RecordSeparator = 0x1E;

    public static readonly SignalRProtocol Instance = new();

    private static readonly byte[] HandshakeFrame = "{\"protocol\":\"json\",\"version\":1}\u001e"u8.ToArray();
    private static readonly byte[] PingFrame = "{\"type\":6}\u001e"u8.ToArray();

    // Message types of the hub protocol (1 is an invocation, which only deliveries are).
    private const int Completion = 3;
    private const int PingType = 6;
    private const int Close = 7;

    public override string Name => "signalr";

    public override bool TryCutFrame(ReadOnlySpan<byte> data, bool unitComplete, out Range frame, out int consumed) =>
        CutAtSeparator(data, RecordSeparator, unitEndsFrame: false, unitComplete, out frame, out consumed);

    public override byte[]? Handshake => HandshakeFrame;

    // The server pings every 15 s and needs no answer; it times a client out after 30 s without
    // any message from it, which KeepAlive prevents.
    public override byte[]? Pong => null;

    public override byte[]? KeepAlive => PingFrame;

    public override byte[] Subscribe(string channel, long id) =>
        Encoding.UTF8.GetBytes($$"""{"type":1,"invocationId":"{{id}}","target":"Subscribe","arguments":[{{JsonSerializer.Serialize(channel)}}]}""" + "\u001e");

    // A non-blocking invocation (no invocationId), the counterpart of PubSub's publish without id.
    public override PublishWriter CreatePublishWriter(string channel, int payloadSize) => new(
        Encoding.UTF8.GetBytes($$"""{"type":1,"target":"Publish","arguments":[{{JsonSerializer.Serialize(channel)}},"""),
        payloadSize,
        "]}\u001e"u8);

    public override FrameInfo Classify(ReadOnlySpan<byte> frame)
    {
        if (!TryParseObject(frame, out var root))
        {
            return new FrameInfo(FrameKind.Other);
        }
        var error = TextOf(root, "error");
        long.TryParse(TextOf(root, "invocationId"), NumberStyles.None, CultureInfo.InvariantCulture, out var id);
        if (!root.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.Number)
        {
            // The handshake response has no type: {} or {"error":"..."}.
            return error is null ? new FrameInfo(FrameKind.Connected) : new FrameInfo(FrameKind.Disconnect, 0, error);
        }
        return type.GetInt32() switch
        {
            Completion => new FrameInfo(FrameKind.Reply, id, error),
            PingType => new FrameInfo(FrameKind.Ping),
            Close => new FrameInfo(FrameKind.Disconnect, 0, error ?? "closed"),
            _ => new FrameInfo(FrameKind.Other),
        };
    }
}
