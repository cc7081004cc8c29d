using System.Text.Json.Serialization;

namespace PubSub.Control;

/// <summary>What one node asks another to do with its own sessions, or to tell (<see cref="NodeRequests"/>).</summary>
internal enum ControlOperation
{
    Disconnect,
    Unsubscribe,
    Subscribe,
    Channels,
    Info,
}

/// <summary>A control request as it travels between nodes; each operation reads the fields it needs.</summary>
internal sealed record ControlRequest
{
    public required ControlOperation Operation { get; init; }

    public string? UserId { get; init; }

    public string? SessionId { get; init; }

    public string? Channel { get; init; }

    /// <summary>The disconnect code, or the unsubscribe code (a string).</summary>
    public int Code { get; init; }

    public string? UnsubscribeCode { get; init; }

    public string? Reason { get; init; }

    public string? Pattern { get; init; }

    public int Limit { get; init; }
}

/// <summary>One node's answer to a <see cref="ControlRequest"/>.</summary>
internal sealed record ControlAnswer
{
    public int Sessions { get; init; }

    public List<ChannelCount>? Channels { get; init; }

    public bool Truncated { get; init; }

    public Dictionary<string, int>? SessionsByTransport { get; init; }

    public double UptimeSeconds { get; init; }

    public int ChannelCount { get; init; }

    /// <summary>Set when the node could not carry the request out (it is in the node's log too).</summary>
    public string? Error { get; init; }
}

internal sealed record ChannelCount(string Channel, int Subscribers);

/// <summary>The envelope of a control message: a request (<see cref="Request"/>) or the answer to one (<see cref="Answer"/>).</summary>
internal sealed record ControlEnvelope
{
    /// <summary><see cref="NodeRequests.RequestKind"/> or <see cref="NodeRequests.AnswerKind"/>; first, so a handler can tell its messages by their start.</summary>
    public required string Kind { get; init; }

    public required string Id { get; init; }

    public required string From { get; init; }

    public ControlRequest? Request { get; init; }

    public ControlAnswer? Answer { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UseStringEnumConverter = true)]
[JsonSerializable(typeof(ControlEnvelope))]
internal sealed partial class ControlJsonContext : JsonSerializerContext;
