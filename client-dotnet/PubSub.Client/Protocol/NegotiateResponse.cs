using System.Text.Json.Serialization;

namespace PubSub.Client.Protocol;

/// <summary>The body of <c>GET {prefix}/negotiate</c> (docs/protocol.md, section 3.1).</summary>
internal sealed class NegotiateResponse
{
    public int Version { get; set; }

    public string? Node { get; set; }

    /// <summary>The transports the node offers, in its order of preference.</summary>
    public List<string>? Transports { get; set; }

    public List<string>? Encodings { get; set; }

    /// <summary>Seconds between heartbeats.</summary>
    public int Ping { get; set; }

    /// <summary>Seconds a long-poll is held.</summary>
    public int PollTimeout { get; set; } = 25;

    public int MaxMessageSize { get; set; } = 65_536;
}

/// <summary>The body of an HTTP error answer (section 3.7): <c>{"error":{"code","message"}}</c>.</summary>
internal sealed class HttpErrorBody
{
    public HttpErrorDetail? Error { get; set; }
}

internal sealed class HttpErrorDetail
{
    public string? Code { get; set; }

    public string? Message { get; set; }
}

/// <summary>Source-generated metadata: no reflection for the client's own JSON.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(NegotiateResponse))]
[JsonSerializable(typeof(HttpErrorBody))]
internal sealed partial class ProtocolJsonContext : JsonSerializerContext;
