namespace PubSub.Brokers;

/// <summary>
/// One channel's retained publications in the memory broker, oldest first, held so that the
/// garbage collector has nothing to trace or copy per entry: the payloads' bytes in one byte
/// ring, the entries in a ring of reference-free structs. A publication stored as objects
/// survives every collection until history lets it go, and with thousands of busy channels those
/// survivors were most of each gen0 pause (docs/benchmarks.md, finding 10); stored here, a
/// publication costs no object that outlives its fan-out. Both rings are allocated on the pinned
/// object heap, which only a full collection visits: while thousands of new channels' rings grow
/// to their size, no ephemeral collection copies them (each one did, and with a gen0 budget large
/// enough to collect rarely those copies made 30-60 ms pauses; table 3e). Reads copy the entries out.
/// Not thread-safe: the memory broker uses it under the channel's stream lock.
/// </summary>
internal sealed class HistoryRing
{
    private const int Growth = 4;

    private Entry[] _entries = Pinned<Entry>(4);
    private int _first;
    private int _count;
    private byte[] _bytes = Pinned<byte>(256);

    // Where the oldest entry's bytes start and the newest one's end, counted from the first byte
    // ever stored (so they only grow); the physical index is the position modulo the ring's length.
    private long _bytesStart;
    private long _bytesEnd;

    public int Count => _count;

    /// <summary>Whether both rings sit where ephemeral collections do not copy them (for tests).</summary>
    internal bool IsOutOfEphemeralGenerations =>
        GC.GetGeneration(_entries) == GC.MaxGeneration && GC.GetGeneration(_bytes) == GC.MaxGeneration;

    public void Append(long offset, Payload data, DateTimeOffset expiresAt, int size)
    {
        var length = data.Bytes.Length;
        while (_count > 0 && _count >= size)
        {
            DropOldest();
        }
        EnsureRoom(length);
        if (_count == _entries.Length)
        {
            // Fourfold, up to the size: a new channel's rings reach their final length in a few
            // steps, leaving little garbage behind (a busy node creates channels all the time).
            var entries = Pinned<Entry>(Math.Max(_count + 1, Math.Min(_entries.Length * Growth, size)));
            for (var i = 0; i < _count; i++)
            {
                entries[i] = At(i);
            }
            (_entries, _first) = (entries, 0);
        }
        CopyIn(_bytesEnd, data.Bytes.Span);
        _entries[(_first + _count) % _entries.Length] = new Entry(offset, expiresAt.UtcTicks, _bytesEnd, length, data.IsBinary);
        _count++;
        _bytesEnd += length;
    }

    /// <summary>Drops the entries whose time is up.</summary>
    public void Prune(DateTimeOffset now)
    {
        while (_count > 0 && At(0).ExpiresAtTicks <= now.UtcTicks)
        {
            DropOldest();
        }
    }

    /// <summary>From <paramref name="query"/>'s position, the first entries up to its limit; without one, the newest.</summary>
    public List<Publication> Read(HistoryQuery query, string channel, string epoch)
    {
        var from = 0;
        if (query.SinceOffset is { } since)
        {
            while (from < _count && At(from).Offset <= since)
            {
                from++;
            }
        }
        else
        {
            from = Math.Max(0, _count - query.Limit);
        }
        var take = Math.Min(query.Limit, _count - from);
        var publications = new List<Publication>(Math.Max(0, take));
        for (var i = from; i < from + take; i++)
        {
            var entry = At(i);
            var bytes = new byte[entry.Length];
            CopyOut(entry.Start, bytes);
            var payload = entry.IsBinary ? Payload.FromBinary(bytes) : Payload.FromTrustedJson(bytes);
            publications.Add(new Publication(channel, entry.Offset, epoch, payload));
        }
        return publications;
    }

    /// <summary>Where both rings live: reference-free arrays outside the ephemeral generations.</summary>
    private static T[] Pinned<T>(int length) where T : unmanaged => GC.AllocateArray<T>(length, pinned: true);

    private Entry At(int index) => _entries[(_first + index) % _entries.Length];

    private void DropOldest()
    {
        _first = (_first + 1) % _entries.Length;
        _count--;
        _bytesStart = _count == 0 ? _bytesEnd : At(0).Start;
    }

    /// <summary>Grows the byte ring (keeping the retained bytes in order) until <paramref name="length"/> more fit.</summary>
    private void EnsureRoom(int length)
    {
        var used = _bytesEnd - _bytesStart;
        if (used + length <= _bytes.Length)
        {
            return;
        }
        var capacity = _bytes.Length;
        while (used + length > capacity)
        {
            capacity *= Growth;
        }
        var retained = new byte[used];
        CopyOut(_bytesStart, retained);
        // The same logical positions land at other physical indexes in a ring of another length.
        _bytes = Pinned<byte>(capacity);
        CopyIn(_bytesStart, retained);
    }

    private void CopyIn(long position, ReadOnlySpan<byte> data)
    {
        var at = (int)(position % _bytes.Length);
        var first = Math.Min(data.Length, _bytes.Length - at);
        data[..first].CopyTo(_bytes.AsSpan(at));
        data[first..].CopyTo(_bytes);
    }

    private void CopyOut(long position, Span<byte> into)
    {
        var at = (int)(position % _bytes.Length);
        var first = Math.Min(into.Length, _bytes.Length - at);
        _bytes.AsSpan(at, first).CopyTo(into);
        _bytes.AsSpan(0, into.Length - first).CopyTo(into[first..]);
    }

    /// <summary>One retained publication: no references, so an array of them is nothing to trace.</summary>
    private readonly record struct Entry(long Offset, long ExpiresAtTicks, long Start, int Length, bool IsBinary);
}
