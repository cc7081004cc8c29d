namespace PubSub.Client;

/// <summary>A page of a channel's history (<see cref="PubSubClient.GetHistoryAsync"/>).</summary>
public sealed class PubSubHistory
{
    internal PubSubHistory(StreamPosition latest, IReadOnlyList<PubSubMessage> publications)
    {
        Latest = latest;
        Publications = publications;
    }

    /// <summary>The channel's latest position when the page was read.</summary>
    public StreamPosition Latest { get; }

    /// <summary>The publications, oldest first.</summary>
    public IReadOnlyList<PubSubMessage> Publications { get; }
}
