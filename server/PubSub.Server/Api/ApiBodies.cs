using System.Text.Json;
using System.Text.Json.Serialization;

namespace PubSub.Api;

// The bodies of the server API (docs/protocol.md, section 4) as types: the control endpoints read
// and write them with System.Text.Json, and every endpoint declares them for its OpenAPI description.

/// <summary><c>POST {api}/publish</c>.</summary>
internal sealed record PublishBody(string Channel, JsonElement? Data, string? Binary, string? IdempotencyKey);

/// <summary>A stream position, the answer to a publish.</summary>
internal sealed record PositionBody(string Epoch, long Offset);

/// <summary><c>GET {api}/history</c>'s answer.</summary>
internal sealed record HistoryBody(string Epoch, long Offset, List<HistoryEntryBody> Publications);

internal sealed record HistoryEntryBody(long Offset, JsonElement? Data, string? Binary);

/// <summary><c>POST {api}/disconnect</c>: <c>user</c> or <c>session</c>.</summary>
internal sealed record DisconnectBody(string? User, string? Session, int? Code, string? Reason, bool? Reconnect);

/// <summary><c>POST {api}/unsubscribe</c>: <c>user</c> or <c>session</c>.</summary>
internal sealed record UnsubscribeBody(string? User, string? Session, string Channel, string? Code, string? Reason);

/// <summary><c>POST {api}/subscribe</c>: <c>user</c> or <c>session</c>.</summary>
internal sealed record SubscribeBody(string? User, string? Session, string Channel);

/// <summary>What disconnect, unsubscribe and subscribe did.</summary>
internal sealed record SessionsBody(int Sessions, IReadOnlyList<string> UnansweredNodes);

/// <summary><c>POST {api}/broadcast</c>.</summary>
internal sealed record BroadcastBody(List<string> Channels, JsonElement? Data, string? Binary, string? IdempotencyKey);

internal sealed record BroadcastAnswerBody(List<BroadcastEntryBody> Results);

/// <summary>One channel of a broadcast: its position, or <c>error</c>.</summary>
internal sealed record BroadcastEntryBody(string Channel, string? Epoch, long? Offset, ErrorDetail? Error);

/// <summary><c>GET {api}/channels</c>'s answer.</summary>
internal sealed record ChannelsBody(List<ChannelEntryBody> Channels, bool Truncated, IReadOnlyList<string> UnansweredNodes);

internal sealed record ChannelEntryBody(string Channel, int Subscribers);

/// <summary><c>GET {api}/info</c>'s answer.</summary>
internal sealed record InfoBody(List<NodeBody> Nodes, IReadOnlyList<string> UnansweredNodes);

/// <summary>A node: its id, seconds since it started, sessions by transport, channels it holds.</summary>
internal sealed record NodeBody(string Node, double Uptime, IReadOnlyDictionary<string, int> Sessions, int Channels);

/// <summary><c>GET {api}/presence</c>'s answer: at most <c>limit</c> members, in no particular order.</summary>
internal sealed record PresenceBody(List<PresenceMemberBody> Members, bool Truncated);

/// <summary>A member of a channel's presence: its session, its user's id (absent when anonymous), its connection info.</summary>
internal sealed record PresenceMemberBody(string Session, string? User, JsonElement? Info);

/// <summary><c>GET {api}/presence_stats</c>'s answer.</summary>
internal sealed record PresenceStatsBody(int Clients, int Users);

/// <summary>Every error's body (docs/protocol.md, section 3.7).</summary>
internal sealed record ErrorBody(ErrorDetail Error);

internal sealed record ErrorDetail(string Code, string Message);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, AllowTrailingCommas = false)]
[JsonSerializable(typeof(DisconnectBody))]
[JsonSerializable(typeof(UnsubscribeBody))]
[JsonSerializable(typeof(SubscribeBody))]
[JsonSerializable(typeof(SessionsBody))]
[JsonSerializable(typeof(BroadcastBody))]
[JsonSerializable(typeof(BroadcastAnswerBody))]
[JsonSerializable(typeof(ChannelsBody))]
[JsonSerializable(typeof(InfoBody))]
[JsonSerializable(typeof(PresenceBody))]
[JsonSerializable(typeof(PresenceStatsBody))]
internal sealed partial class ApiJsonContext : JsonSerializerContext;
