using System.Buffers.Text;
using System.Text;

namespace PubSub.Redis;

/// <summary>
/// How a presence member is kept in Redis and how joins and leaves travel on the channel's pub/sub
/// channel (docs/architecture.md, "Redis broker"), written here and by the presence scripts.
/// </summary>
/// <remarks>
/// A member's value in its node's hash (the field is the session id) is
/// <c>{announce}{user}{info}</c>: <c>announce</c> is <c>1</c> when its leave is announced, else
/// <c>0</c>; <c>user</c> is <c>-</c> for an anonymous session, else <c>{length}:{id}</c> (length in
/// UTF-8 bytes); <c>info</c> is the rest, minified JSON, or nothing. A join or leave on the
/// channel's pub/sub channel is <c>J</c> or <c>L</c>, then <c>{length}:{session}</c>, then the
/// member's value. Publications start with <c>j</c> or <c>b</c>, so the two never mix.
/// </remarks>
internal static class PresenceCodec
{
    public const byte Join = (byte)'J';
    public const byte Leave = (byte)'L';

    /// <summary>Whether a pub/sub message of a channel is a join or a leave rather than a publication.</summary>
    public static bool IsEvent(ReadOnlySpan<byte> message) => message.Length > 0 && message[0] is Join or Leave;

    public static byte[] Value(PresenceMember member, bool announce)
    {
        var value = new List<byte>(32) { announce ? (byte)'1' : (byte)'0' };
        if (member.User is { } user)
        {
            var bytes = Encoding.UTF8.GetBytes(user);
            value.AddRange(Encoding.ASCII.GetBytes(bytes.Length + ":"));
            value.AddRange(bytes);
        }
        else
        {
            value.Add((byte)'-');
        }
        if (member.Info is { } info)
        {
            value.AddRange(info.Bytes.Span);
        }
        return [.. value];
    }

    /// <summary>Reads a member's value; false when it is not one this broker wrote.</summary>
    public static bool TryReadValue(string session, ReadOnlyMemory<byte> value, out PresenceMember? member)
    {
        member = null;
        var span = value.Span;
        if (span.Length < 2)
        {
            return false;
        }
        string? user = null;
        var rest = 2;
        if (span[1] != (byte)'-')
        {
            var colon = span[1..].IndexOf((byte)':');
            if (colon <= 0 || !Utf8Parser.TryParse(span.Slice(1, colon), out int length, out var consumed) || consumed != colon || length < 0 || 2 + colon + length > span.Length)
            {
                return false;
            }
            user = Encoding.UTF8.GetString(span.Slice(2 + colon, length));
            rest = 2 + colon + length;
        }
        Payload? info = null;
        if (rest < span.Length)
        {
            // Only this broker writes these values, from JSON the node validated: not parsed again.
            if (!PublicationCodec.TryCreatePayload(PublicationCodec.JsonKind, value[rest..], out var payload))
            {
                return false;
            }
            info = payload;
        }
        member = new PresenceMember(session, user, info);
        return true;
    }

    /// <summary>Reads a join or leave message; false when it is malformed.</summary>
    public static bool TryReadEvent(string channel, byte[] message, out PresenceEvent? presence)
    {
        presence = null;
        var span = message.AsSpan();
        var colon = span.IndexOf((byte)':');
        if (colon <= 1 || !Utf8Parser.TryParse(span[1..colon], out int length, out var consumed) || consumed != colon - 1 || length <= 0 || colon + 1 + length > span.Length)
        {
            return false;
        }
        var session = Encoding.UTF8.GetString(span.Slice(colon + 1, length));
        if (!TryReadValue(session, message.AsMemory(colon + 1 + length), out var member))
        {
            return false;
        }
        presence = new PresenceEvent(channel, span[0] == Join, member!);
        return true;
    }
}
