namespace PubSub.Protocol;

/// <summary>Splits a batch (frames separated by <c>\n</c>, docs/protocol.md section 2) into frames.</summary>
internal static class FrameBatch
{
    public const byte Separator = (byte)'\n';

    /// <summary>The frames of the batch; empty lines and a trailing separator are skipped.</summary>
    public static Enumerator Split(ReadOnlyMemory<byte> batch) => new(batch);

    public struct Enumerator
    {
        private ReadOnlyMemory<byte> _rest;

        internal Enumerator(ReadOnlyMemory<byte> batch)
        {
            _rest = batch;
            Current = default;
        }

        public ReadOnlyMemory<byte> Current { get; private set; }

        /// <summary>What follows <see cref="Current"/>.</summary>
        public readonly ReadOnlyMemory<byte> Rest => _rest;

        public readonly Enumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            while (!_rest.IsEmpty)
            {
                var end = _rest.Span.IndexOf(Separator);
                var line = end < 0 ? _rest : _rest[..end];
                _rest = end < 0 ? ReadOnlyMemory<byte>.Empty : _rest[(end + 1)..];
                if (!IsBlank(line.Span))
                {
                    Current = line;
                    return true;
                }
            }
            return false;
        }

        private static bool IsBlank(ReadOnlySpan<byte> line) =>
            line.IndexOfAnyExcept((byte)' ', (byte)'\t', (byte)'\r') < 0;
    }
}
