using Microsoft.Extensions.Options;
using PubSub.Diagnostics;

namespace PubSub.Channels;

/// <summary>
/// Publishes and reads history for every publisher (server code in process, the HTTP API, and a
/// client's frames once their checks passed), with the rules all of them share: the channel must
/// match a template, the data fits the size limit, and positions are in the protocol's range.
/// </summary>
internal sealed class ChannelPublisher(MeasuredBroker broker, ChannelRegistry channels, PubSubMetrics metrics, IOptions<PubSubOptions> options) : IPubSubPublisher
{
    private readonly PubSubOptions _options = options.Value;

    /// <summary>Publishers as the metrics tell them apart.</summary>
    public const string Server = "server";
    public const string Api = "api";
    public const string Client = "client";

    public ValueTask<StreamPosition> PublishAsync(string channel, Payload data, CancellationToken cancellationToken = default) =>
        PublishAsync(channel, data, idempotencyKey: null, Server, cancellationToken);

    public ValueTask<StreamPosition> PublishAsync(string channel, Payload data, string idempotencyKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(idempotencyKey);
        return PublishAsync(channel, data, idempotencyKey, Server, cancellationToken);
    }

    /// <summary>Publishes for <paramref name="publisher"/> (<see cref="Server"/>, <see cref="Api"/>), counting the outcome.</summary>
    public async ValueTask<StreamPosition> PublishAsync(string channel, Payload data, string? idempotencyKey, string publisher, CancellationToken cancellationToken) =>
        await MeasureAsync(publisher, () => PublishAsync(channels.Resolve(channel, keep: true), data, idempotencyKey, cancellationToken));


    /// <summary>Runs a publish request and counts its outcome (<c>pubsub.publication</c>), whatever refused it.</summary>
    public async ValueTask<StreamPosition> MeasureAsync(string publisher, Func<ValueTask<StreamPosition>> publish)
    {
        try
        {
            var position = await publish();
            metrics.Publication(publisher, refusal: null);
            return position;
        }
        catch (PubSubException e)
        {
            metrics.Publication(publisher, e.Code);
            throw;
        }
    }

    /// <summary>
    /// Publishes to a resolved channel; the size limit applies to every publisher. With an
    /// <paramref name="idempotencyKey"/>, once per key within the channel's idempotency window.
    /// </summary>
    public async ValueTask<StreamPosition> PublishAsync(ChannelMatch match, Payload data, string? idempotencyKey, CancellationToken cancellationToken)
    {
        if (data.Bytes.Length > _options.MaxMessageSize)
        {
            throw new PubSubException(PubSubErrorCodes.MessageTooLarge, $"The data is larger than {_options.MaxMessageSize} bytes.");
        }
        if (idempotencyKey is null)
        {
            return await broker.PublishAsync(match.Channel, data, match.Options.History, cancellationToken);
        }
        if (!IdempotencyKey.IsValid(idempotencyKey))
        {
            throw new PubSubException(PubSubErrorCodes.BadRequest, $"An idempotency key must be 1 to {IdempotencyKey.MaxLength} characters.");
        }
        return await broker.PublishAsync(match.Channel, data, match.Options.History, new IdempotencyKey(idempotencyKey, match.Options.IdempotencyWindow), cancellationToken);
    }

    public async ValueTask<HistoryPage> GetHistoryAsync(string channel, StreamPosition? since = null, int limit = 100, CancellationToken cancellationToken = default) =>
        await GetHistoryAsync(channels.Resolve(channel), since, limit, cancellationToken);

    public async ValueTask<HistoryPage> GetHistoryAsync(ChannelMatch match, StreamPosition? since, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        if (since is { } from && !StreamPosition.IsValidOffset(from.Offset))
        {
            throw new PubSubException(PubSubErrorCodes.BadRequest, $"Offset {from.Offset} is outside the protocol's range (0 to 2^53-1).");
        }
        var page = await broker.ReadHistoryAsync(match.Channel, new HistoryQuery(since?.Offset, limit), cancellationToken);
        if (since is { } position && position.Epoch != page.Latest.Epoch)
        {
            throw new PubSubException(PubSubErrorCodes.EpochMismatch,
                $"Position {position} is from epoch '{position.Epoch}'; the channel is now in epoch '{page.Latest.Epoch}'.");
        }
        return page;
    }

    /// <summary>Lists at most <paramref name="limit"/> (1 to <see cref="PresenceMember.MaxListed"/>) members of a resolved channel that keeps presence.</summary>
    public async ValueTask<PresencePage> GetPresenceAsync(ChannelMatch match, int limit, CancellationToken cancellationToken)
    {
        RequirePresence(match);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return await broker.ReadPresenceAsync(match.Channel, Math.Min(limit, PresenceMember.MaxListed), cancellationToken);
    }

    public async ValueTask<PresenceStats> GetPresenceStatsAsync(ChannelMatch match, CancellationToken cancellationToken)
    {
        RequirePresence(match);
        return await broker.ReadPresenceStatsAsync(match.Channel, cancellationToken);
    }

    /// <summary>Throws <c>presence_disabled</c> unless the channel's template keeps presence.</summary>
    public static void RequirePresence(ChannelMatch match)
    {
        if (!match.Options.Presence)
        {
            throw new PubSubException(PubSubErrorCodes.PresenceDisabled, $"The channel '{match.Channel}' does not keep presence (its template has no Presence).");
        }
    }
}
