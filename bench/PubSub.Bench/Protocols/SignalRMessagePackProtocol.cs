using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using MessagePack;

namespace PubSub.Bench.Protocols;

/// <summary>
/// ASP.NET Core SignalR's MessagePack hub protocol, version 1, written here from its
/// specification: after the JSON handshake (still text, ended by 0x1E) every message is a
/// MessagePack array prefixed by its length as a VarInt (7 bits per byte, low bits first), in
/// binary WebSocket messages. The payload travels as a str holding the JSON payload's bytes, as
/// with <see cref="PubSubMessagePackProtocol"/>.
/// </summary>
public sealed class SignalRMessagePackProtocol : WireProtocol
{
    public static readonly SignalRMessagePackProtocol Instance = new();

    private static readonly byte[] HandshakeFrame = "{\"protocol\":\"messagepack\",\"version\":1}\u001e"u8.ToArray();
    private static readonly byte[] PingFrame = Prefixed(PubSubMessagePackProtocol.Frame((ref MessagePackWriter w) =>
    {
        w.WriteArrayHeader(1);
        w.Write(6);
    }));

    public override string Name => "signalr";

    public override WebSocketMessageType MessageType => WebSocketMessageType.Binary;

    public override byte[]? Handshake => HandshakeFrame;

    public override byte[]? Pong => null;

    public override byte[]? KeepAlive => PingFrame;

    public override bool TryCutFrame(ReadOnlySpan<byte> data, bool unitComplete, out Range frame, out int consumed)
    {
        // The handshake answer is JSON ({} or {"error":…}); a MessagePack message never starts
        // so: its length prefix would be 0x7B, and the array header after it is 0x9X, not '}' or '"'.
        if (data.Length >= 2 && data[0] == (byte)'{' && data[1] is (byte)'}' or (byte)'"')
        {
            return CutAtSeparator(data, SignalRProtocol.RecordSeparator, unitEndsFrame: false, unitComplete, out frame, out consumed);
        }
        long length = 0;
        for (var i = 0; i < Math.Min(5, data.Length); i++)
        {
            length |= (long)(data[i] & 0x7f) << (7 * i);
            if ((data[i] & 0x80) == 0)
            {
                var start = i + 1;
                if (data.Length - start < length)
                {
                    break;
                }
                frame = start..(start + (int)length);
                consumed = start + (int)length;
                return true;
            }
        }
        frame = default;
        consumed = 0;
        return false;
    }

    public override byte[] Subscribe(string channel, long id) => Prefixed(PubSubMessagePackProtocol.Frame((ref MessagePackWriter w) =>
    {
        WriteInvocationHead(ref w, id.ToString(System.Globalization.CultureInfo.InvariantCulture), "Subscribe", arguments: 1);
        w.Write(channel);
    }));

    // A non-blocking invocation (nil invocationId), as the JSON protocol's publish.
    public override PublishWriter CreatePublishWriter(string channel, int payloadSize)
    {
        var head = PubSubMessagePackProtocol.Frame((ref MessagePackWriter w) =>
        {
            WriteInvocationHead(ref w, invocationId: null, "Publish", arguments: 2);
            w.Write(channel);
            w.WriteStringHeader(payloadSize);
        });
        return new PublishWriter([.. VarInt(head.Length + payloadSize), .. head], payloadSize, []);
    }

    public override FrameInfo Classify(ReadOnlySpan<byte> frame)
    {
        if (frame.Length > 0 && frame[0] == (byte)'{')
        {
            // The handshake answer, JSON like the text protocol's.
            return SignalRProtocol.Instance.Classify(frame);
        }
        JsonElement message;
        try
        {
            message = JsonDocument.Parse(MessagePackSerializer.ConvertToJson(frame.ToArray())).RootElement;
        }
        catch (Exception e) when (e is MessagePackSerializationException or JsonException)
        {
            return new FrameInfo(FrameKind.Other);
        }
        if (message.ValueKind != JsonValueKind.Array || message.GetArrayLength() == 0 || message[0].ValueKind != JsonValueKind.Number)
        {
            return new FrameInfo(FrameKind.Other);
        }
        var items = message.EnumerateArray().ToArray();
        string? Text(int index) => items.Length > index && items[index].ValueKind == JsonValueKind.String ? items[index].GetString() : null;
        return items[0].GetInt32() switch
        {
            // Completion: [3, headers, invocationId, resultKind (1 error, 2 void, 3 result), result?]
            3 => new FrameInfo(
                FrameKind.Reply,
                long.TryParse(Text(2), out var id) ? id : 0,
                items.Length > 3 && items[3].ValueKind == JsonValueKind.Number && items[3].GetInt32() == 1 ? Text(4) ?? "error" : null),
            6 => new FrameInfo(FrameKind.Ping),
            // Close: [7, error, allowReconnect]
            7 => new FrameInfo(FrameKind.Disconnect, 0, Text(1) ?? "closed"),
            _ => new FrameInfo(FrameKind.Other),
        };
    }

    /// <summary>[1, headers, invocationId, target, arguments…]: the invocation up to its arguments' array header.</summary>
    private static void WriteInvocationHead(ref MessagePackWriter w, string? invocationId, string target, int arguments)
    {
        w.WriteArrayHeader(5);
        w.Write(1);
        w.WriteMapHeader(0);
        w.Write(invocationId);
        w.Write(target);
        w.WriteArrayHeader(arguments);
    }

    private static byte[] Prefixed(byte[] message) => [.. VarInt(message.Length), .. message];

    private static byte[] VarInt(int value)
    {
        var bytes = new List<byte>(5);
        do
        {
            var low = (byte)(value & 0x7f);
            value >>= 7;
            bytes.Add(value > 0 ? (byte)(low | 0x80) : low);
        }
        while (value > 0);
        return [.. bytes];
    }
}
