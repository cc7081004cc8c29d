using Microsoft.Extensions.Logging;

namespace PubSub.Redis;

/// <summary>What a <see cref="ChannelFeed"/> needs from its broker; tests give it a fake one.</summary>
internal interface IFeedSource
{
    ILogger Logger { get; }

    /// <summary>Hands a publication to the node. Called under the feed's lock, one at a time per channel.</summary>
    void Deliver(Publication publication);

    /// <summary>Hands a join or leave to the node, as it arrives (not part of the offset stream: never held back nor recovered).</summary>
    void DeliverPresence(PresenceEvent presence);

    /// <summary>Reads the channel's position and up to <paramref name="limit"/> retained publications after <paramref name="since"/>.</summary>
    /// <exception cref="PubSubException">Redis is unreachable.</exception>
    Task<HistoryPage> ReadAsync(string channel, long since, int limit);

    /// <summary>
    /// Gives the channel a new epoch if it is still at <paramref name="rewound"/>'s epoch with an
    /// offset below <paramref name="deliveredOffset"/>: Redis went back in time (a failover to a
    /// replica that lagged, an old snapshot), and reusing offsets would make clients drop new
    /// publications as repeats.
    /// </summary>
    Task RestartEpochAsync(string channel, StreamPosition rewound, long deliveredOffset);

    /// <summary>Waits before a failed recovery read is tried again; throws <see cref="OperationCanceledException"/> once the broker stops.</summary>
    Task DelayRetryAsync();

    /// <summary>Counts what a recovery delivered, for logs and tests.</summary>
    void OnRecovered(string channel, int delivered);
}
