using System.Text;
using PubSub.Channels;

namespace PubSub.Control;

/// <summary>
/// The <see cref="IPubSubControl"/> that server code injects and the server API calls: it checks
/// the input once, here, then asks the nodes that hold the sessions (<see cref="NodeRequests"/>)
/// and sums their answers. A session's node is in its id, so a request for one session goes to
/// that node only.
/// </summary>
internal sealed class PubSubControl(NodeRequests nodes, ChannelRegistry channels, ChannelPublisher publisher) : IPubSubControl
{
    /// <summary>The <c>unsubscribed</c> code when the caller gives none.</summary>
    public const string DefaultUnsubscribeCode = "unsubscribed";

    /// <summary>The longest reason of a disconnect, in UTF-8 bytes: what a WebSocket close frame carries (RFC 6455, 5.5).</summary>
    public const int MaxDisconnectReasonBytes = 123;

    public const int MaxUnsubscribeReasonLength = 256;

    public Task<ControlResult> DisconnectAsync(SessionTarget target, int code = PubSubDisconnectCodes.Application, string? reason = null, CancellationToken cancellationToken = default)
    {
        if (!PubSubDisconnectCodes.IsApplicationCode(code))
        {
            throw BadRequest($"Disconnect code {code} is not one an application may send: use 4500 (final, the default), 4100–4499 (the client reconnects) or 4600–4999 (final).");
        }
        if (reason is not null && Encoding.UTF8.GetByteCount(reason) > MaxDisconnectReasonBytes)
        {
            throw BadRequest($"A disconnect reason may be at most {MaxDisconnectReasonBytes} bytes of UTF-8 (a WebSocket close frame carries no more).");
        }
        return RunAsync(target, new ControlRequest { Operation = ControlOperation.Disconnect, Code = code, Reason = reason ?? PubSubDisconnectCodes.DefaultReason }, cancellationToken);
    }

    public Task<ControlResult> UnsubscribeAsync(SessionTarget target, string channel, string? code = null, string? reason = null, CancellationToken cancellationToken = default)
    {
        var match = channels.Resolve(channel);
        code ??= DefaultUnsubscribeCode;
        if (code.Length is < 1 or > 64 || !code.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_'))
        {
            throw BadRequest("An unsubscribe code must be 1 to 64 lowercase letters, digits and '_'.");
        }
        if (reason is { Length: > MaxUnsubscribeReasonLength })
        {
            throw BadRequest($"An unsubscribe reason may be at most {MaxUnsubscribeReasonLength} characters.");
        }
        return RunAsync(target, new ControlRequest
        {
            Operation = ControlOperation.Unsubscribe,
            Channel = match.Channel,
            UnsubscribeCode = code,
            Reason = reason ?? "The server ended the subscription.",
        }, cancellationToken);
    }

    public Task<ControlResult> SubscribeAsync(SessionTarget target, string channel, CancellationToken cancellationToken = default)
    {
        var match = channels.Resolve(channel);
        return RunAsync(target, new ControlRequest { Operation = ControlOperation.Subscribe, Channel = match.Channel }, cancellationToken);
    }

    public async Task<BroadcastResult> BroadcastAsync(IReadOnlyList<string> channels, Payload data, string? idempotencyKey = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(channels);
        if (channels.Count is 0 or > BroadcastResult.MaxChannels)
        {
            throw BadRequest($"A broadcast names 1 to {BroadcastResult.MaxChannels} channels (this one {channels.Count}).");
        }
        if (channels.Distinct(StringComparer.Ordinal).Count() != channels.Count)
        {
            throw BadRequest("A broadcast names each channel once.");
        }
        if (idempotencyKey is not null && !IdempotencyKey.IsValid(idempotencyKey))
        {
            throw BadRequest($"An idempotency key must be 1 to {IdempotencyKey.MaxLength} characters.");
        }
        // Issued one after another without waiting, so with Redis they travel pipelined.
        var publishes = channels.Select(channel => PublishOneAsync(channel, data, idempotencyKey, cancellationToken)).ToList();
        return new BroadcastResult(await Task.WhenAll(publishes));
    }

    private async Task<BroadcastOutcome> PublishOneAsync(string channel, Payload data, string? idempotencyKey, CancellationToken cancellationToken)
    {
        try
        {
            return new BroadcastOutcome(channel, await publisher.PublishAsync(channel, data, idempotencyKey, ChannelPublisher.Api, cancellationToken), null);
        }
        catch (PubSubException e)
        {
            return new BroadcastOutcome(channel, null, e);
        }
    }

    public async Task<ChannelsResult> ChannelsAsync(string? pattern = null, CancellationToken cancellationToken = default)
    {
        if (pattern is { Length: 0 or > 1024 })
        {
            throw BadRequest("A channel pattern is 1 to 1024 characters.");
        }
        var limit = ChannelsResult.MaxChannels;
        var (answers, unanswered) = await nodes.AskAllAsync(new ControlRequest { Operation = ControlOperation.Channels, Pattern = pattern, Limit = limit }, cancellationToken);
        // Each node lists its first names in order, so every name among the first overall is in
        // the list of every node that has it, and its sum is complete.
        var sums = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var truncated = false;
        foreach (var (_, answer) in answers)
        {
            truncated |= answer.Truncated;
            foreach (var channel in answer.Channels ?? [])
            {
                sums[channel.Channel] = sums.GetValueOrDefault(channel.Channel) + channel.Subscribers;
            }
        }
        var listed = sums.Take(limit).Select(pair => new ChannelInfo(pair.Key, pair.Value)).ToList();
        return new ChannelsResult(listed, truncated || sums.Count > limit, unanswered);
    }

    public async Task<PresencePage> PresenceAsync(string channel, int limit = PresenceMember.MaxListed, CancellationToken cancellationToken = default)
    {
        var match = channels.Resolve(channel);
        if (limit is < 1 or > PresenceMember.MaxListed)
        {
            throw BadRequest($"A presence limit is 1 to {PresenceMember.MaxListed}.");
        }
        // The broker holds every node's members: one read, no node messages.
        return await publisher.GetPresenceAsync(match, limit, cancellationToken);
    }

    public async Task<PresenceStats> PresenceStatsAsync(string channel, CancellationToken cancellationToken = default) =>
        await publisher.GetPresenceStatsAsync(channels.Resolve(channel), cancellationToken);

    public async Task<ClusterInfo> InfoAsync(CancellationToken cancellationToken = default)
    {
        var (answers, unanswered) = await nodes.AskAllAsync(new ControlRequest { Operation = ControlOperation.Info }, cancellationToken);
        var infos = answers
            .Select(a => new NodeInfo(a.Node, TimeSpan.FromSeconds(a.Answer.UptimeSeconds), a.Answer.SessionsByTransport ?? [], a.Answer.ChannelCount))
            .ToList();
        return new ClusterInfo(infos, unanswered);
    }

    private async Task<ControlResult> RunAsync(SessionTarget target, ControlRequest request, CancellationToken cancellationToken)
    {
        if (target.SessionId is { } sessionId)
        {
            request = request with { SessionId = sessionId };
            // The session's node is in its id; an id that names none is a session that does not exist.
            if (Ids.OwnerOf(sessionId) is not { } owner)
            {
                return new ControlResult(0, []);
            }
            var (outcome, answer) = await nodes.AskAsync(owner, request, cancellationToken);
            return outcome == AskOutcome.Silent ? new ControlResult(0, [owner]) : new ControlResult(answer?.Sessions ?? 0, []);
        }
        if (target.UserId is null)
        {
            throw BadRequest("Name a user or a session.");
        }
        request = request with { UserId = target.UserId };
        var (answers, unanswered) = await nodes.AskAllAsync(request, cancellationToken);
        return new ControlResult(answers.Sum(a => a.Answer.Sessions), unanswered);
    }

    private static PubSubException BadRequest(string message) => new(PubSubErrorCodes.BadRequest, message);
}
