using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using PubSub.Node;
using PubSub.Protocol;

namespace PubSub.Transports;

/// <summary>
/// <c>GET {prefix}/negotiate</c>: what this node offers (docs/protocol.md, section 3.1). The body is
/// built once: answering costs no more than writing a few hundred bytes, so a client can time it
/// as a round trip.
/// </summary>
internal sealed class NegotiateEndpoint
{
    private readonly byte[] _body;

    public NegotiateEndpoint(NodeIdentity identity, IOptions<PubSubOptions> configured)
    {
        var options = configured.Value;
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, ServerFrames.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteNumber("version"u8, 1);
            writer.WriteString("node"u8, identity.Id);
            writer.WriteStartArray("transports"u8);
            if (options.Transports.HasFlag(PubSubTransports.WebSocket))
            {
                writer.WriteStringValue(TransportNames.WebSocket);
            }
            if (options.Transports.HasFlag(PubSubTransports.ServerSentEvents))
            {
                writer.WriteStringValue(TransportNames.ServerSentEvents);
            }
            if (options.Transports.HasFlag(PubSubTransports.LongPolling))
            {
                writer.WriteStringValue(TransportNames.LongPolling);
            }
            writer.WriteEndArray();
            writer.WriteStartArray("encodings"u8);
            foreach (var encoding in FrameEncoding.All)
            {
                writer.WriteStringValue(encoding.Name);
            }
            writer.WriteEndArray();
            writer.WriteNumber("ping"u8, (int)options.PingInterval.TotalSeconds);
            writer.WriteNumber("pollTimeout"u8, (int)options.PollTimeout.TotalSeconds);
            writer.WriteNumber("maxMessageSize"u8, options.MaxMessageSize);
            writer.WriteEndObject();
        }
        _body = buffer.WrittenSpan.ToArray();
    }

    public Task HandleAsync(HttpContext context)
    {
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        context.Response.ContentLength = _body.Length;
        return context.Response.Body.WriteAsync(_body, context.RequestAborted).AsTask();
    }
}
