using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Nv.Wal.Protection;

/// <summary>Ids of new data keys, in creation order in both forms the key stores keep them in.</summary>
/// <remarks>
/// SQLite keeps a key id as the 16 bytes of <see cref="Guid.ToByteArray()"/> (the first three groups little-endian), MongoDB
/// as its "D" text; a UUIDv7 is time-ordered only in the text. Keys are stored in batches and assigned to subjects in the
/// order they were made, so ids out of order in the stored form cost the key table a random B-tree page per key, twice (the
/// insert, the assignment). Here the first eight bytes, which the two forms order differently, are fixed per process: the
/// Unix time in milliseconds when it made its first key (6 bytes, big-endian) and 2 random bytes. The last eight, which
/// both forms keep in byte order, are a counter (5 bytes, big-endian) and 3 random bytes: the ids one process makes sort in
/// the order it made them in both forms.
/// Unique: within a process by the counter; across processes by the start time and 40 random bits (2 bytes in the prefix,
/// 3 in each id): two processes whose first keys fall in the same millisecond make a common id with a chance of about
/// n / 2^40 for n keys, where UUIDv7 had 74 random bits per id. A collision cannot go unnoticed: the key store refuses a
/// second key with the same id (primary key), that refill fails as a whole (writes waiting for a key fail, nothing is
/// appended) and the next one makes new ids. Ids are not secret and never were: a key id travels in the clear next to
/// every value sealed under it.
/// </remarks>
internal static class DataKeyIds
{
    private const long CounterLimit = 1L << 40;

    private static readonly byte[] Prefix = NewPrefix();
    private static long _counter;

    public static Guid Next()
    {
        var n = Interlocked.Increment(ref _counter);
        if (n >= CounterLimit)
        {
            return Guid.CreateVersion7(); // a trillion keys in one process: still unique, just no longer in order
        }

        Span<byte> bytes = stackalloc byte[16];
        Prefix.CopyTo(bytes);
        Span<byte> counter = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(counter, n);
        counter[3..].CopyTo(bytes[8..13]);
        RandomNumberGenerator.Fill(bytes[13..]);
        return new Guid(bytes); // ToByteArray() gives these bytes back as they are
    }

    private static byte[] NewPrefix()
    {
        var prefix = new byte[8];
        Span<byte> time = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(time, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        time[2..].CopyTo(prefix);
        RandomNumberGenerator.Fill(prefix.AsSpan(6));
        return prefix;
    }
}
