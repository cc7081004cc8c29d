namespace PubSub.Client;

/// <summary>
/// A place in a channel's stream: the epoch (one unbroken run of offsets) and the offset of a
/// publication in it. Store it to resume a subscription later with
/// <see cref="PubSubSubscriptionOptions.Since"/>.
/// </summary>
/// <remarks>The arguments are in the server's order (<c>PubSub.StreamPosition(long Offset, string Epoch)</c>), so code that uses both reads the same.</remarks>
/// <param name="Offset">The publication's offset: 1 for the first publication of an epoch, growing by 1 per publication.</param>
/// <param name="Epoch">The run of offsets the position belongs to; it changes when the server loses the channel's history.</param>
public readonly record struct StreamPosition(long Offset, string Epoch)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Epoch}:{Offset.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
}
