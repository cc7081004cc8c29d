namespace PubSub;

/// <summary>
/// Publishes from server code, in process, to every subscriber on every node. Inject it anywhere
/// after <c>AddPubSub()</c>. Server code is trusted: channel hooks and client-publish rules do not apply.
/// </summary>
public interface IPubSubPublisher
{
    /// <summary>Publishes <paramref name="data"/> to <paramref name="channel"/> and returns its position.</summary>
    /// <exception cref="PubSubException">The channel is invalid or unknown (codes <c>invalid_channel</c>,
    /// <c>unknown_channel</c>), the data is too large, the broker is unreachable and nothing was
    /// published (<c>unavailable</c>: safe to retry), or the broker did not confirm in time and the
    /// publication may or may not have been stored (<c>timeout</c>).</exception>
    ValueTask<StreamPosition> PublishAsync(string channel, Payload data, CancellationToken cancellationToken = default);

    /// <summary>
    /// Publishes once per <paramref name="idempotencyKey"/> (1–128 characters): a publish with the
    /// same key to the same channel within the channel's <see cref="ChannelOptions.IdempotencyWindow"/>
    /// (default 5 min), from any node, returns the first one's position and publishes nothing. So a
    /// publish that failed with <c>timeout</c> or <c>unavailable</c> can be retried with the same key
    /// without being published twice.
    /// </summary>
    /// <exception cref="PubSubException">As for <see cref="PublishAsync(string, Payload, CancellationToken)"/>,
    /// and <c>bad_request</c> for a key that is empty or too long.</exception>
    ValueTask<StreamPosition> PublishAsync(string channel, Payload data, string idempotencyKey, CancellationToken cancellationToken = default);

    /// <summary>Reads the channel's retained publications after <paramref name="since"/> (all of them when null).</summary>
    /// <exception cref="PubSubException">As for publishing, and <c>epoch_mismatch</c> when
    /// <paramref name="since"/> belongs to an epoch that is no longer current.</exception>
    ValueTask<HistoryPage> GetHistoryAsync(string channel, StreamPosition? since = null, int limit = 100, CancellationToken cancellationToken = default);
}

/// <summary>Conveniences over <see cref="IPubSubPublisher"/>.</summary>
public static class PubSubPublisherExtensions
{
    /// <summary>Publishes <paramref name="value"/> serialized as JSON.</summary>
    public static ValueTask<StreamPosition> PublishAsync<T>(this IPubSubPublisher publisher, string channel, T value, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(publisher);
        return publisher.PublishAsync(channel, Payload.FromValue(value), cancellationToken);
    }
}
