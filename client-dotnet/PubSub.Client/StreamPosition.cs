namespace PubSub.Client;

/// <summary>
/// A place in a channel's stream: the epoch (one unbroken run of offsets) and the offset of a
/// publication in it. Store it to resume a subscription later with
/// <see cref="PubSubSubscriptionOptions.Since"/>.
/// </summary>
/// <param name="Epoch">The run of offsets the position belongs to; it changes when the server loses the channel's history.</param>
/// <param name="Offset">The publication's offset: 1 for the first publication of an epoch, growing by 1 per publication.</param>
public readonly record struct StreamPosition(string Epoch, long Offset)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Epoch}:{Offset.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
}
