namespace PubSub.Client.Protocol;

/// <summary>
/// Splits a batch (docs/protocol.md, section 2: frames separated by <c>\n</c>, a trailing
/// <c>\n</c> and empty lines ignored) into frames.
/// </summary>
internal static class FrameBatch
{
    /// <summary>Calls <paramref name="onFrame"/> for each frame of the batch, in order; stops early when it returns false.</summary>
    public static void Split<TState>(ReadOnlySpan<byte> batch, TState state, FrameCallback<TState> onFrame)
    {
        while (!batch.IsEmpty)
        {
            var end = batch.IndexOf((byte)'\n');
            var line = end < 0 ? batch : batch[..end];
            batch = end < 0 ? [] : batch[(end + 1)..];
            if (line.EndsWith("\r"u8))
            {
                line = line[..^1];
            }
            if (line.IsEmpty)
            {
                continue;
            }
            if (!onFrame(state, line))
            {
                return;
            }
        }
    }
}

internal delegate bool FrameCallback<in TState>(TState state, ReadOnlySpan<byte> frame);
