namespace PubSub.Protocol;

internal enum ClientFrameType
{
    Subscribe,
    Unsubscribe,
    Publish,
    History,
    Ping,
    Pong,
    Close,
}

/// <summary>A frame from a client, parsed and checked for the fields its type requires.</summary>
internal sealed class ClientFrame
{
    public required ClientFrameType Type { get; init; }

    /// <summary>The request id; null when the client wants no reply.</summary>
    public long? Id { get; init; }

    public string? Channel { get; init; }

    public StreamPosition? Since { get; init; }

    public Payload? Data { get; init; }

    public int? Limit { get; init; }

    /// <summary>A publish's idempotency key (1–128 characters), or null.</summary>
    public string? IdempotencyKey { get; init; }
}

/// <summary>Why a frame was refused; <see cref="Id"/> is set when the frame's id could be read.</summary>
internal readonly record struct ProtocolError(string Code, string Message, long? Id = null);
