using System.Buffers.Binary;
using Nv.Wal.Framing;
using Nv.Wal.IO;

namespace Nv.Wal.Recovery;

/// <summary>Parses FasterLog's physical layout from the segment files and validates every Nv frame.</summary>
/// <remarks>
/// FasterLog 2.6.5 layout with <c>LogChecksumType.PerEntry</c>: each entry is a 12-byte header (8-byte xor checksum,
/// 4-byte length) followed by the payload padded to 4 bytes. Entries never cross a page; a zero length means the rest
/// of the page is padding. A negative length marks FasterLog's own fast-commit record. The log starts at address 64.
/// Not thread-safe: one scanner per reader.
/// </remarks>
internal sealed class LogScanner
{
    public const int EntryHeaderSize = 12;
    public const long FirstValidAddress = 64;

    private readonly SegmentReader _reader;
    private readonly int _pageBits;
    private readonly long _pageSize;
    private readonly byte[] _page;
    private long _pageAddress = -1;
    private int _pageValid;

    public LogScanner(SegmentReader reader, int pageBits)
    {
        _reader = reader;
        _pageBits = pageBits;
        _pageSize = 1L << pageBits;
        _page = new byte[_pageSize];
    }

    /// <summary>When set, <see cref="Next"/> returns <see cref="ScanStep.Commit"/> for each valid FasterLog commit record (and
    /// <see cref="ScanStep.Damage"/> for a damaged one) instead of skipping them unchecked.</summary>
    public bool ReportCommitRecords { get; init; }

    /// <summary>Where the damage (or end) was found, and why.</summary>
    public string? Reason { get; private set; }

    public long Sequence { get; private set; }

    public long RecordAddress { get; private set; }

    /// <summary>The address just past the last entry parsed (an Nv record or a FasterLog commit record); 0 before any.</summary>
    public long EntryEnd { get; private set; }

    /// <summary>For the record <see cref="Next"/> just returned: the end of the entry this scanner parsed before it (an Nv
    /// record or a FasterLog commit record; 0 before any). Between it and <see cref="RecordAddress"/> lie only padding and
    /// zeros: no entry, so where records are missing there, their bytes never reached the file.</summary>
    public long PrecedingEntryEnd { get; private set; }

    public ReadOnlyMemory<byte> Frame { get; private set; }

    public static int Align(int length) => (length + 3) & ~3;

    public void Invalidate() => _pageAddress = -1;

    /// <summary>Advances from <paramref name="address"/> to the next Nv record, skipping FasterLog commit records and padding.</summary>
    /// <exception cref="WalFormatTooNewException">An intact frame in a format only a newer Nv writes.</exception>
    /// <param name="address">Current position; advanced past the record (or left at the damage).</param>
    /// <param name="end">Exclusive end of the range that must parse exactly, or <see cref="long.MaxValue"/> to scan what the files hold.</param>
    public ScanStep Next(ref long address, long end)
    {
        while (true)
        {
            if (address == end)
            {
                return ScanStep.End;
            }

            if (address > end)
            {
                Reason = $"entry runs past the committed end {end}";
                return ScanStep.Damage;
            }

            var offset = (int)(address & (_pageSize - 1));
            var pageStart = address - offset;
            if (offset + EntryHeaderSize > _pageSize)
            {
                address = pageStart + _pageSize;
                continue;
            }

            var valid = LoadPage(pageStart);
            if (offset + EntryHeaderSize > valid)
            {
                // FasterLog writes whole sectors, zero-filled after its tail: when the last entry ends 4 or 8 bytes before a
                // sector boundary, the file ends with zeros too short for a header, which are the end of the log.
                if (end == long.MaxValue && (offset >= valid || !_page.AsSpan(offset, valid - offset).ContainsAnyExcept((byte)0)))
                {
                    return ScanStep.End;
                }

                if (end == long.MaxValue)
                {
                    // Non-zero bytes too short for a header: a torn or cut write.
                    Reason = $"segment file '{_reader.SegmentPath(address)}' ends inside an entry header";
                    return ScanStep.Damage;
                }

                Reason = $"segment file '{_reader.SegmentPath(address)}' ends before the committed address {end}";
                return ScanStep.Damage;
            }

            var length = BinaryPrimitives.ReadInt32LittleEndian(_page.AsSpan(offset + 8));
            if (length == 0)
            {
                var next = pageStart + _pageSize;
                if (end != long.MaxValue && next > end)
                {
                    Reason = "zero-filled entry header before the committed end";
                    return ScanStep.Damage;
                }

                if (end == long.MaxValue && LoadPage(next) < EntryHeaderSize)
                {
                    address = next;
                    return ScanStep.End;
                }

                address = next;
                continue;
            }

            var payload = length < 0 ? (length == int.MinValue ? int.MaxValue : -length) : length;
            var size = (long)EntryHeaderSize + Align(Math.Min(payload, int.MaxValue - 3));
            if (offset + size > _pageSize)
            {
                Reason = $"entry length {length} does not fit its page";
                return ScanStep.Damage;
            }

            if (offset + EntryHeaderSize + (long)payload > valid)
            {
                Reason = $"segment file '{_reader.SegmentPath(address)}' ends inside an entry";
                return ScanStep.Damage;
            }

            if (length < 0)
            {
                // FasterLog fast-commit record
                if (ReportCommitRecords)
                {
                    if (!FasterCommitRecord.TryParse(_page.AsSpan(offset, (int)Math.Min(size, valid - offset)), address, out _))
                    {
                        Reason = "damaged FasterLog commit record";
                        return ScanStep.Damage;
                    }

                    RecordAddress = address;
                    address += size;
                    EntryEnd = address;
                    return ScanStep.Commit;
                }

                address += size;
                EntryEnd = address;
                continue;
            }

            var frame = _page.AsMemory(offset + EntryHeaderSize, length);
            var status = WalFrame.Check(frame.Span, out var sequence, out _, out var error);
            if (status == FrameStatus.Newer)
            {
                // Intact, in a format only a newer Nv writes: never damage to cut or skip, whoever scans.
                throw new WalFormatTooNewException(_reader.SegmentPath(address),
                    $"{error}, LSN {sequence} at address {address}", $"record format {WalFrame.NewestFormat}");
            }

            if (status != FrameStatus.Valid)
            {
                Reason = error;
                return ScanStep.Damage;
            }

            PrecedingEntryEnd = EntryEnd;
            RecordAddress = address;
            Sequence = sequence;
            Frame = frame;
            address += size;
            EntryEnd = address;
            return ScanStep.Record;
        }
    }

    /// <summary>Searches past damage at <paramref name="damage"/> for the next valid Nv record before <paramref name="end"/>.</summary>
    /// <returns>The record's address, or -1 when none exists.</returns>
    public long Resync(long damage, long end)
    {
        var address = damage + 4;
        while (address < end)
        {
            var offset = (int)(address & (_pageSize - 1));
            var pageStart = address - offset;
            var valid = LoadPage(pageStart);
            if (valid < EntryHeaderSize)
            {
                if (end == long.MaxValue)
                {
                    return -1;
                }

                address = pageStart + _pageSize;
                continue;
            }

            if (offset + EntryHeaderSize + WalFrame.HeaderSize <= valid)
            {
                var span = _page.AsSpan(offset);
                var length = BinaryPrimitives.ReadInt32LittleEndian(span[8..]);
                if (length >= WalFrame.HeaderSize && offset + EntryHeaderSize + (long)length <= valid
                    && BinaryPrimitives.ReadUInt16LittleEndian(span[EntryHeaderSize..]) == WalFrame.Magic
                    && WalFrame.Check(span.Slice(EntryHeaderSize, length), out _, out _, out _) != FrameStatus.Damaged)
                {
                    return address; // a newer Nv's frame too: the scan from here refuses it (Next), it never passes for damage
                }
            }

            address += 4;
            if ((address & (_pageSize - 1)) == 0 || (address & (_pageSize - 1)) + EntryHeaderSize > _pageSize)
            {
                address = pageStart + _pageSize;
            }
        }

        return -1;
    }

    /// <summary>Copies the raw bytes of [from, to) into <paramref name="destination"/> (missing bytes are skipped).</summary>
    public void CopyRaw(long from, long to, Stream destination)
    {
        var address = from;
        while (address < to)
        {
            var offset = (int)(address & (_pageSize - 1));
            var pageStart = address - offset;
            var valid = LoadPage(pageStart);
            var upTo = (int)Math.Min(valid, Math.Min(_pageSize, to - pageStart));
            if (upTo > offset)
            {
                destination.Write(_page, offset, upTo - offset);
            }

            if (valid == 0 && to == long.MaxValue)
            {
                return;
            }

            address = pageStart + _pageSize;
        }
    }

    private int LoadPage(long pageStart)
    {
        if (pageStart != _pageAddress)
        {
            _pageValid = _reader.Read(pageStart, _page);
            _pageAddress = pageStart;
        }

        return _pageValid;
    }
}
