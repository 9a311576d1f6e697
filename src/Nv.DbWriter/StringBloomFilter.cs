namespace Nv.DbWriter;

/// <summary>A Bloom filter of strings: <see cref="MightContain"/> is never false for a string that was added, and is true
/// for a string never added with a probability of about 1 % while at most <see cref="Capacity"/> strings were added
/// (10 bits and 7 hashes per string); past that it degrades gradually, never into a false "absent".</summary>
/// <remarks>In memory only, so the hash need not be stable across processes. Thread-safe: bits are only ever set, with
/// atomic ORs; a reader racing an add may miss that add (the caller orders adds before the state they stand for).</remarks>
internal sealed class StringBloomFilter
{
    private const int BitsPerString = 10;
    private const int Hashes = 7;

    private readonly long[] _words;
    private readonly ulong _mask;
    private long _count;

    /// <param name="capacity">Strings expected; the bit array is rounded up to a power of two.</param>
    public StringBloomFilter(long capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        Capacity = capacity;
        var bits = Math.Max(64UL, System.Numerics.BitOperations.RoundUpToPowerOf2((ulong)capacity * BitsPerString));
        _words = new long[bits / 64];
        _mask = bits - 1;
    }

    /// <summary>Strings the filter was sized for.</summary>
    public long Capacity { get; }

    /// <summary>Strings added (repeats counted).</summary>
    public long Count => Interlocked.Read(ref _count);

    /// <summary>Bytes of the bit array.</summary>
    public long SizeBytes => _words.LongLength * sizeof(long);

    public void Add(string value)
    {
        var (h1, h2) = Hash(value);
        for (var i = 0; i < Hashes; i++)
        {
            var bit = (h1 + ((ulong)i * h2)) & _mask;
            Interlocked.Or(ref _words[bit >> 6], 1L << (int)(bit & 63));
        }

        Interlocked.Increment(ref _count);
    }

    public bool MightContain(string value)
    {
        var (h1, h2) = Hash(value);
        for (var i = 0; i < Hashes; i++)
        {
            var bit = (h1 + ((ulong)i * h2)) & _mask;
            if ((Volatile.Read(ref _words[bit >> 6]) & (1L << (int)(bit & 63))) == 0)
            {
                return false;
            }
        }

        return true;
    }

    // FNV-1a over the UTF-16 code units, then two SplitMix64 finalizers for the double-hashing pair (h2 odd, so the probe
    // sequence visits distinct bits in a power-of-two table).
    private static (ulong H1, ulong H2) Hash(string value)
    {
        var h = 14695981039346656037UL;
        foreach (var c in value)
        {
            h = (h ^ c) * 1099511628211UL;
        }

        return (Mix(h), Mix(h ^ 0x9E3779B97F4A7C15UL) | 1);
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
