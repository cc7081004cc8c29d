namespace PubSub.Protocol;

internal enum ClientFrameType
{
    Subscribe,
    Unsubscribe,
    Publish,
    History,
    Presence,
    PresenceStats,
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

/// <summary>
/// The fields of a client frame as a parser reads them, in any encoding; <see cref="Problem"/>
/// is the first field that was refused. <see cref="ClientFrameParser.Complete"/> turns them into
/// a frame or the error every encoding answers alike.
/// </summary>
internal struct ClientFrameFields
{
    public string? Type;
    public long? Id;
    public string? Channel;
    public StreamPosition? Since;
    public Payload? Data;
    public int? Limit;
    public string? IdempotencyKey;
    public string? Problem;
}
