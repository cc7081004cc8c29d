using System.Text.Json;

namespace PubSub.Client.Protocol;

/// <summary>Reads the results of replies (docs/protocol.md, section 2.3): positions and history pages.</summary>
internal static class Replies
{
    public static StreamPosition ReadPosition(ServerFrame reply) =>
        TryReadPosition(reply.Result, out var position)
            ? position
            : throw new PubSubException(PubSubErrorCodes.BadFrame, $"The reply to request {reply.Id} lacks its position ('epoch', 'offset'): {reply.Result.GetRawText()}");

    public static bool TryReadPosition(JsonElement result, out StreamPosition position)
    {
        if (result.ValueKind == JsonValueKind.Object
            && result.TryGetProperty("epoch"u8, out var epoch) && epoch.ValueKind == JsonValueKind.String
            && result.TryGetProperty("offset"u8, out var offset) && offset.TryGetInt64(out var value))
        {
            position = new StreamPosition(value, epoch.GetString()!);
            return true;
        }
        position = default;
        return false;
    }

    public static PubSubHistory ReadHistory(string channel, ServerFrame reply, JsonSerializerOptions serializerOptions)
    {
        var latest = ReadPosition(reply);
        if (!reply.Result.TryGetProperty("publications"u8, out var list) || list.ValueKind != JsonValueKind.Array)
        {
            throw new PubSubException(PubSubErrorCodes.BadFrame, $"The history reply for '{channel}' has no 'publications' list.");
        }
        var publications = new List<PubSubMessage>(list.GetArrayLength());
        foreach (var item in list.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("offset"u8, out var offsetElement) || !offsetElement.TryGetInt64(out var offset))
            {
                throw new PubSubException(PubSubErrorCodes.BadFrame, $"A publication in the history of '{channel}' has no offset: {item.GetRawText()}");
            }
            var position = new StreamPosition(offset, latest.Epoch);
            if (item.TryGetProperty("binary"u8, out var binary) && binary.ValueKind == JsonValueKind.String && binary.TryGetBytesFromBase64(out var bytes))
            {
                publications.Add(new PubSubMessage(channel, position, bytes, serializerOptions));
            }
            else if (item.TryGetProperty("data"u8, out var data))
            {
                publications.Add(new PubSubMessage(channel, position, data.Clone(), serializerOptions));
            }
            else
            {
                throw new PubSubException(PubSubErrorCodes.BadFrame, $"Publication {position} in the history of '{channel}' has neither valid 'data' nor 'binary'.");
            }
        }
        return new PubSubHistory(latest, publications);
    }
}
