using System.Text;
using System.Text.Json;
using PubSub.Bench.Protocols;

namespace PubSub.Bench.Tests;

public class ProtocolTests
{
    [Theory]
    [InlineData("""{"type":"connected","session":"n1.abc","node":"n1","version":1,"transport":"websocket","ping":25}""", FrameKind.Connected, 0, "n1.abc")]
    [InlineData("""{"type":"reply","id":7,"result":{"epoch":"e","offset":0}}""", FrameKind.Reply, 7, null)]
    [InlineData("""{"type":"reply","id":8,"error":{"code":"unknown_channel","message":"no"}}""", FrameKind.Reply, 8, "unknown_channel")]
    [InlineData("""{"type":"subscribed","channel":"bench/1","epoch":"e","offset":0}""", FrameKind.Subscribed, 0, null)]
    [InlineData("""{"type":"ping"}""", FrameKind.Ping, 0, null)]
    [InlineData("""{"type":"disconnect","code":4001,"reason":"slow","reconnect":true}""", FrameKind.Disconnect, 0, "4001 slow")]
    [InlineData("""{"type":"error","code":"bad_request","message":"x"}""", FrameKind.Error, 0, "bad_request")]
    [InlineData("""{"type":"whatever-comes-next"}""", FrameKind.Other, 0, null)]
    [InlineData("""not json""", FrameKind.Other, 0, null)]
    public void PubSub_frames_are_classified(string frame, FrameKind kind, long id, string? text)
    {
        Assert.Equal(new FrameInfo(kind, id, text), PubSubProtocol.Instance.Classify(Encoding.UTF8.GetBytes(frame)));
    }

    [Theory]
    [InlineData("""{}""", FrameKind.Connected, 0, null)]
    [InlineData("""{"error":"Requested protocol 'x' is not available."}""", FrameKind.Disconnect, 0, "Requested protocol 'x' is not available.")]
    [InlineData("""{"type":3,"invocationId":"12","result":null}""", FrameKind.Reply, 12, null)]
    [InlineData("""{"type":3,"invocationId":"13","error":"boom"}""", FrameKind.Reply, 13, "boom")]
    [InlineData("""{"type":6}""", FrameKind.Ping, 0, null)]
    [InlineData("""{"type":7,"error":"gone","allowReconnect":true}""", FrameKind.Disconnect, 0, "gone")]
    [InlineData("""{"type":1,"target":"other","arguments":[]}""", FrameKind.Other, 0, null)]
    public void SignalR_messages_are_classified(string frame, FrameKind kind, long id, string? text)
    {
        Assert.Equal(new FrameInfo(kind, id, text), SignalRProtocol.Instance.Classify(Encoding.UTF8.GetBytes(frame)));
    }

    [Fact]
    public void Requests_are_the_json_each_protocol_specifies()
    {
        var subscribe = JsonDocument.Parse(PubSubProtocol.Instance.Subscribe("bench/\"q\"", 5)).RootElement;
        Assert.Equal("subscribe", subscribe.GetProperty("type").GetString());
        Assert.Equal(5, subscribe.GetProperty("id").GetInt64());
        Assert.Equal("bench/\"q\"", subscribe.GetProperty("channel").GetString());

        var publish = JsonDocument.Parse(PubSubProtocol.Instance.CreatePublishWriter("bench/1", 40).Write(1, 2)).RootElement;
        Assert.Equal("publish", publish.GetProperty("type").GetString());
        Assert.False(publish.TryGetProperty("id", out _));
        Assert.Equal(40, Encoding.UTF8.GetByteCount(JsonSerializer.Serialize(publish.GetProperty("data").GetString())));

        var invocation = SignalRProtocol.Instance.Subscribe("bench/1", 9);
        Assert.Equal(SignalRProtocol.RecordSeparator, invocation[^1]);
        var hub = JsonDocument.Parse(invocation.AsMemory(0, invocation.Length - 1)).RootElement;
        Assert.Equal(1, hub.GetProperty("type").GetInt32());
        Assert.Equal("9", hub.GetProperty("invocationId").GetString());
        Assert.Equal("Subscribe", hub.GetProperty("target").GetString());

        var send = SignalRProtocol.Instance.CreatePublishWriter("bench/1", 40).Write(1, 2).ToArray();
        Assert.Equal(SignalRProtocol.RecordSeparator, send[^1]);
        var arguments = JsonDocument.Parse(send.AsMemory(0, send.Length - 1)).RootElement.GetProperty("arguments");
        Assert.Equal("bench/1", arguments[0].GetString());
    }
}
