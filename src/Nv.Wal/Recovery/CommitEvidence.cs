using System.Buffers.Binary;
using Nv.Wal.Framing;
using Nv.Wal.IO;

namespace Nv.Wal.Recovery;

/// <summary>Decides whether damage recovery found lies in bytes a completed commit made durable (acknowledged), which
/// must never be cut, or past every completed commit (an unfinished write, which may be cut).</summary>
/// <remarks>
/// <para>Evidence of a completed commit, strongest first: the committed address in FasterLog's commit metadata (written
/// only after the commit's log write completed, but lazily: at most <c>CommitMetadataInterval</c> apart, on the first
/// commit, on truncation and on a clean close), and a valid FasterLog commit record on disk after the damage (every
/// group commit writes one right after the entries it covers).</para>
/// <para>A commit record after the damage does not count when a hole lies between the two: a 512-byte sector that is
/// all zeros or missing, or zeros from the damage to the end of its sector. Under Nv's write model (512-byte sectors
/// are written atomically; never-written bytes read as zeros; FasterLog fills memory past its tail with zeros) such a
/// hole is a write that never landed, and a commit whose bytes below it never landed never completed: FasterLog
/// completes a commit only when every byte below its record is written. Written-but-wrong bytes with a commit record
/// after them are therefore damage to acknowledged data (bit rot, a foreign write), never an unfinished write.</para>
/// <para>An entry whose header is zero while bytes follow it in its page (page padding is zeros to the page's end) is a
/// hole too: FasterLog copies an entry's payload before its header, so only a write taken while the entry was being
/// copied holds it so, and the write of every completed commit covering the entry holds it whole.</para>
/// <para>Limit: damage that looks like an unfinished write (zeros, a file cut at a sector boundary) in the last metadata
/// interval before a crash is indistinguishable from one, and is cut as a tail (saved aside as <c>*.broken</c>).</para>
/// </remarks>
internal sealed class CommitEvidence
{
    public const int SectorSize = 512;

    private readonly SegmentReader _reader;
    private readonly int _pageBits;
    private readonly long _pageSize;
    private readonly byte[] _page;
    private long _pageAddress = -1;
    private int _pageValid;

    /// <param name="reader">The segment files.</param>
    /// <param name="pageBits">FasterLog's page size.</param>
    /// <param name="metadataPoint">The committed address in FasterLog's commit metadata, or -1 when there is none.</param>
    public CommitEvidence(SegmentReader reader, int pageBits, long metadataPoint)
    {
        _reader = reader;
        _pageBits = pageBits;
        _pageSize = 1L << pageBits;
        _page = new byte[_pageSize];
        MetadataPoint = metadataPoint;
    }

    /// <summary>The committed address recorded in FasterLog's commit metadata, or -1.</summary>
    public long MetadataPoint { get; }

    /// <summary>The end of the completed commit that covers <paramref name="damage"/>, or -1 when no evidence says the
    /// damaged bytes were ever acknowledged.</summary>
    /// <param name="damage">Where the damage starts (an entry boundary: the end of the last valid entry or the damaged entry).</param>
    /// <param name="diskEnd">Where the segment files end.</param>
    public long AcknowledgedPast(long damage, long diskEnd)
    {
        if (MetadataPoint > damage)
        {
            return MetadataPoint;
        }

        var (commit, until) = FindCommitAfter(damage, diskEnd);
        return commit >= 0 && !HasHole(damage, commit) ? until : -1;
    }

    /// <summary>The first non-zero byte at or after <paramref name="from"/> and before <paramref name="to"/>, or -1.</summary>
    public long FirstNonZero(long from, long to)
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
                var i = _page.AsSpan(offset, upTo - offset).IndexOfAnyExcept((byte)0);
                if (i >= 0)
                {
                    return address + i;
                }
            }

            address = pageStart + _pageSize;
        }

        return -1;
    }

    /// <summary>Whether [<paramref name="from"/>, <paramref name="to"/>) holds bytes that never landed (see the remarks).</summary>
    /// <param name="from">An entry boundary: where the damage (or the missing records) starts.</param>
    /// <param name="to">Where the evidence after it starts (a commit record, the next valid record).</param>
    public bool HasHole(long from, long to)
    {
        if (HeaderNeverLanded(from))
        {
            return true;
        }

        var sector = from & ~(long)(SectorSize - 1);
        if (sector < from)
        {
            if (AllZero(from, Math.Min(sector + SectorSize, to)))
            {
                return true;
            }

            sector += SectorSize;
        }

        for (; sector + SectorSize <= to; sector += SectorSize)
        {
            if (AllZero(sector, sector + SectorSize))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether the entry at <paramref name="at"/> is there without its header: a zero header that is not page padding
    /// (bytes follow it in its page; padding is zeros to the page's end). FasterLog copies an entry's payload before its
    /// header, and flushes the page it is still appending to, so a write of the page can carry the payload (and entries or
    /// a commit record appended after it) while the header is still zero; every later write of the page, that of the
    /// flush that completes a commit covering the entry among them, carries the whole entry.</summary>
    private bool HeaderNeverLanded(long at)
    {
        var offset = (int)(at & (_pageSize - 1));
        if (offset + LogScanner.EntryHeaderSize > _pageSize)
        {
            return false;
        }

        var valid = LoadPage(at - offset);
        return offset + LogScanner.EntryHeaderSize < valid
            && !_page.AsSpan(offset, LogScanner.EntryHeaderSize).ContainsAnyExcept((byte)0)
            && _page.AsSpan(offset + LogScanner.EntryHeaderSize, valid - offset - LogScanner.EntryHeaderSize).ContainsAnyExcept((byte)0);
    }

    /// <summary>Walks the entries after the damage to the first valid commit record: its address and the address it made durable.</summary>
    private (long Address, long Until) FindCommitAfter(long damage, long diskEnd)
    {
        var scanner = new LogScanner(_reader, _pageBits) { ReportCommitRecords = true };
        var address = ResyncAny(damage, diskEnd);
        while (address >= 0)
        {
            var at = address;
            switch (scanner.Next(ref address, long.MaxValue))
            {
                case ScanStep.Commit:
                    return (at, address);
                case ScanStep.Record:
                    continue;
                case ScanStep.Damage:
                    address = ResyncAny(address, diskEnd);
                    continue;
                default:
                    return (-1, -1);
            }
        }

        return (-1, -1);
    }

    /// <summary>The next address after <paramref name="damage"/> holding a valid entry (an Nv record or a FasterLog commit record), or -1.</summary>
    private long ResyncAny(long damage, long end)
    {
        var address = damage + 4;
        while (address < end)
        {
            var offset = (int)(address & (_pageSize - 1));
            var pageStart = address - offset;
            var valid = LoadPage(pageStart);
            if (offset + LogScanner.EntryHeaderSize <= valid)
            {
                var span = _page.AsSpan(offset, valid - offset);
                var length = BinaryPrimitives.ReadInt32LittleEndian(span[8..]);
                if (length < 0 ? FasterCommitRecord.TryParse(span, address, out _) : IsFrame(span, length))
                {
                    return address;
                }

                address += 4;
            }
            else
            {
                address = pageStart + _pageSize;
            }

            if ((address & (_pageSize - 1)) + LogScanner.EntryHeaderSize > _pageSize)
            {
                address = pageStart + _pageSize;
            }
        }

        return -1;
    }

    private static bool IsFrame(ReadOnlySpan<byte> entry, int length) =>
        length >= WalFrame.HeaderSize && LogScanner.EntryHeaderSize + (long)length <= entry.Length
        && BinaryPrimitives.ReadUInt16LittleEndian(entry[LogScanner.EntryHeaderSize..]) == WalFrame.Magic
        && WalFrame.Check(entry.Slice(LogScanner.EntryHeaderSize, length), out _, out _, out _) != FrameStatus.Damaged;

    /// <summary>Whether [from, to), which lies in one page, is all zeros or missing from the files.</summary>
    private bool AllZero(long from, long to)
    {
        var offset = (int)(from & (_pageSize - 1));
        var valid = LoadPage(from - offset);
        var upTo = (int)Math.Min(valid, offset + (to - from));
        return upTo <= offset || !_page.AsSpan(offset, upTo - offset).ContainsAnyExcept((byte)0);
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
