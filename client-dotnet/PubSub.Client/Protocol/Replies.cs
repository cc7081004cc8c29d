using System.Text.Json;

namespace PubSub.Client.Protocol;

/// <summary>Reads the results of replies (docs/protocol.md, section 2.3): positions, history pages and presence.</summary>
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

    public static PubSubPresence ReadPresence(ServerFrame reply)
    {
        if (!reply.Result.TryGetProperty("members"u8, out var list) || list.ValueKind != JsonValueKind.Array)
        {
            throw new PubSubException(PubSubErrorCodes.BadFrame, $"The presence reply to request {reply.Id} has no 'members' list: {reply.Result.GetRawText()}");
        }
        var members = new List<PubSubPresenceMember>(list.GetArrayLength());
        foreach (var item in list.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("session"u8, out var session) || session.ValueKind != JsonValueKind.String)
            {
                throw new PubSubException(PubSubErrorCodes.BadFrame, $"A presence member has no 'session': {item.GetRawText()}");
            }
            var user = item.TryGetProperty("user"u8, out var u) && u.ValueKind == JsonValueKind.String ? u.GetString() : null;
            JsonElement? info = item.TryGetProperty("info"u8, out var i) ? i.Clone() : null;
            members.Add(new PubSubPresenceMember(session.GetString()!, user, info));
        }
        var truncated = reply.Result.TryGetProperty("truncated"u8, out var flag) && flag.ValueKind == JsonValueKind.True;
        return new PubSubPresence(members, truncated);
    }

    public static PubSubPresenceStats ReadPresenceStats(ServerFrame reply) =>
        reply.Result.TryGetProperty("clients"u8, out var clients) && clients.TryGetInt32(out var clientCount)
        && reply.Result.TryGetProperty("users"u8, out var users) && users.TryGetInt32(out var userCount)
            ? new PubSubPresenceStats(clientCount, userCount)
            : throw new PubSubException(PubSubErrorCodes.BadFrame, $"The presence_stats reply to request {reply.Id} lacks 'clients' or 'users': {reply.Result.GetRawText()}");

    /// <summary>The member a <c>join</c> or <c>leave</c> frame names.</summary>
    public static PubSubPresenceMember MemberOf(ServerFrame frame) =>
        new(frame.Session!, frame.User, frame.Info.ValueKind == JsonValueKind.Undefined ? null : frame.Info);
}
