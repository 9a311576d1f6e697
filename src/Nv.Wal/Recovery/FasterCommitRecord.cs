using System.Buffers.Binary;
using FASTER.core;

namespace Nv.Wal.Recovery;

/// <summary>Recognizes FasterLog's own commit records (fast-commit mode) in the segment files.</summary>
/// <remarks>
/// FasterLog 2.6.5 writes a commit record as an entry with a negative length: the 12-byte header (8-byte xor checksum
/// over the length field and the payload, 4-byte length = -payload length), then a serialized
/// <see cref="FasterLogRecoveryInfo"/> whose <c>UntilAddress</c> is the address just past the record itself. A record is
/// accepted only when the xor checksum, the info's own checksum and that self-reference all hold, so stray bytes are
/// never taken for a commit.
/// </remarks>
internal static class FasterCommitRecord
{
    /// <summary>Checks for a commit record at the start of <paramref name="entry"/>, which lies at log address <paramref name="address"/>.</summary>
    /// <param name="entry">The bytes from the entry header on (at least the whole entry).</param>
    /// <param name="address">The entry's log address.</param>
    /// <param name="untilAddress">The address just past the record (what the commit made durable).</param>
    public static bool TryParse(ReadOnlySpan<byte> entry, long address, out long untilAddress)
    {
        untilAddress = 0;
        if (entry.Length < LogScanner.EntryHeaderSize)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadInt32LittleEndian(entry[8..]);
        if (length >= 0 || length == int.MinValue || LogScanner.EntryHeaderSize + (long)-length > entry.Length)
        {
            return false;
        }

        var payload = -length;
        if (Xor(entry.Slice(8, payload + 4)) != BinaryPrimitives.ReadUInt64LittleEndian(entry))
        {
            return false;
        }

        var info = new FasterLogRecoveryInfo();
        try
        {
            using var reader = new BinaryReader(new MemoryStream(entry.Slice(LogScanner.EntryHeaderSize, payload).ToArray()));
            info.Initialize(reader);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return false;
        }

        if (info.UntilAddress != address + LogScanner.EntryHeaderSize + LogScanner.Align(payload))
        {
            return false;
        }

        untilAddress = info.UntilAddress;
        return true;
    }

    /// <summary>FASTER's <c>Utility.XorBytes</c>: little-endian 64-bit words, then the remaining single bytes.</summary>
    public static ulong Xor(ReadOnlySpan<byte> bytes)
    {
        ulong result = 0;
        var i = 0;
        for (; i + 8 <= bytes.Length; i += 8)
        {
            result ^= BinaryPrimitives.ReadUInt64LittleEndian(bytes[i..]);
        }

        for (; i < bytes.Length; i++)
        {
            result ^= bytes[i];
        }

        return result;
    }
}
