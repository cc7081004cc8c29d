namespace PubSub;

/// <summary>
/// Acts on live sessions and reads the cluster's state from server code, whichever node holds
/// the sessions: disconnect, unsubscribe and subscribe a user (all their sessions on every node)
/// or one session, publish one payload to many channels, read a channel's presence, list the
/// active channels and the live nodes. Inject it anywhere after <c>AddPubSub()</c>; the server API's control endpoints
/// (docs/protocol.md, section 4) call it. Server code is trusted: channel policies and hooks do
/// not apply, the per-session subscription limit does.
/// </summary>
/// <remarks>
/// An operation that needs every node asks each live node through the broker and waits at most
/// <see cref="PubSubOptions.NodeRequestTimeout"/> for its answer; a node that did not answer in
/// time is listed in the result's <c>UnansweredNodes</c> (its part may or may not have been done).
/// A user is matched by id: the name identifier claim (a token's <c>sub</c>), else the name, as
/// <see cref="ChannelOptions.UserParameter"/> compares it. An unknown user or session is no error:
/// the result says 0 sessions.
/// </remarks>
public interface IPubSubControl
{
    /// <summary>
    /// Ends the target's sessions with a <c>disconnect</c> frame carrying <paramref name="code"/>
    /// and <paramref name="reason"/>. The code says whether the client reconnects: 4500 (the
    /// default) and the application's final codes tell it to stay away, the application's codes
    /// 4100–4499 to reconnect (<see cref="PubSubDisconnectCodes"/>).
    /// </summary>
    /// <exception cref="PubSubException"><c>bad_request</c>: a code outside the application's
    /// ranges, or a reason over 123 bytes of UTF-8 (what a WebSocket close frame carries).</exception>
    Task<ControlResult> DisconnectAsync(SessionTarget target, int code = PubSubDisconnectCodes.Application, string? reason = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Ends the target's subscriptions to <paramref name="channel"/>: each session gets an
    /// <c>unsubscribed</c> frame with <paramref name="code"/> (default <c>unsubscribed</c>) and
    /// <paramref name="reason"/>, and the unsubscribe hooks run.
    /// </summary>
    /// <exception cref="PubSubException"><c>invalid_channel</c>, <c>unknown_channel</c>; <c>bad_request</c>
    /// for a code that is not 1–64 lowercase letters, digits and <c>_</c>, or a reason over 256 characters.</exception>
    Task<ControlResult> UnsubscribeAsync(SessionTarget target, string channel, string? code = null, string? reason = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Subscribes the target's live sessions to <paramref name="channel"/>: each gets a
    /// <c>subscribed</c> frame and then the channel's messages, as for a channel on the SSE URL.
    /// A session already subscribed is left as it is; one the subscription limit refuses gets an
    /// <c>unsubscribed</c> frame with the reason. Neither is counted.
    /// </summary>
    /// <exception cref="PubSubException"><c>invalid_channel</c>, <c>unknown_channel</c>.</exception>
    Task<ControlResult> SubscribeAsync(SessionTarget target, string channel, CancellationToken cancellationToken = default);

    /// <summary>
    /// Publishes <paramref name="data"/> to each of <paramref name="channels"/> (at most
    /// <see cref="BroadcastResult.MaxChannels"/>, no name twice); each channel gets its own offset.
    /// A channel that fails does not stop the others: the result has each one's position or error.
    /// With an <paramref name="idempotencyKey"/>, a repeat publishes to none of the channels that
    /// already took it.
    /// </summary>
    /// <exception cref="PubSubException"><c>bad_request</c>: no channels, too many, or one twice;
    /// <c>message_too_large</c>.</exception>
    Task<BroadcastResult> BroadcastAsync(IReadOnlyList<string> channels, Payload data, string? idempotencyKey = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// The channels with subscribers on some node, with their subscriber counts summed over the
    /// nodes, in ordinal order, at most <see cref="ChannelsResult.MaxChannels"/>.
    /// <paramref name="pattern"/> filters them: <c>*</c> matches any run of characters (<c>/</c>
    /// too), <c>?</c> any one, everything else itself.
    /// </summary>
    Task<ChannelsResult> ChannelsAsync(string? pattern = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Who is subscribed to <paramref name="channel"/> on every node: at most
    /// <paramref name="limit"/> members (1 to <see cref="PresenceMember.MaxListed"/>, the default),
    /// in no particular order; <see cref="PresencePage.Truncated"/> says when there are more.
    /// </summary>
    /// <exception cref="PubSubException"><c>invalid_channel</c>, <c>unknown_channel</c>;
    /// <c>presence_disabled</c> when the channel's template does not keep presence; <c>bad_request</c> for a limit out of range.</exception>
    Task<PresencePage> PresenceAsync(string channel, int limit = PresenceMember.MaxListed, CancellationToken cancellationToken = default);

    /// <summary>How many clients, and distinct users, are subscribed to <paramref name="channel"/> on every node.</summary>
    /// <exception cref="PubSubException"><c>invalid_channel</c>, <c>unknown_channel</c>, <c>presence_disabled</c>.</exception>
    Task<PresenceStats> PresenceStatsAsync(string channel, CancellationToken cancellationToken = default);

    /// <summary>The live nodes, each with its sessions by transport and its uptime.</summary>
    Task<ClusterInfo> InfoAsync(CancellationToken cancellationToken = default);
}
