using System.Buffers.Binary;
using Nv.Wal;

namespace Nv.Unit.Tests.Wal;

/// <summary>FasterLog writes the pages of one flush concurrently: a page that starts a flush range is written at once,
/// while the rest of a partially written page waits for the write before it. A crash (SIGKILL or power loss) can therefore
/// leave a later page on disk, with records and even a commit record in it, while the end of the earlier page never
/// landed. That commit never completed (FasterLog completes a commit only when every byte below it is written), so its
/// records were never acknowledged and recovery cuts them; it must not refuse to open.</summary>
/// <remarks>The smoke test CrashWindowTests ("after-wal-truncate") hit this: a truncation had just written the commit
/// metadata at the end of the last acknowledged entry, and the restart refused with "LSN 118 does not follow LSN 112 ...
/// below the durable point" because recovery looked for the hole only after the out-of-sequence record, not between the
/// last intact entry and that record.</remarks>
public sealed class WalOutOfOrderPageWriteTests : WalTestBase
{
    private const int PageSize = 4096;
    private const int SectorSize = 512;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_later_page_that_landed_before_the_end_of_the_earlier_page_is_cut_after_a_truncation(bool commitRecordLanded)
    {
        // Five acknowledged records, then a truncation: its commit writes FasterLog's metadata at the end of its own commit
        // record, so the durable point is exactly where the acknowledged bytes end.
        var image = Path.Combine(Directory, "before-flush");
        var acknowledged = new List<WalRecord>();
        byte[] after;
        await using (var wal = Open())
        {
            for (var i = 0; i < 5; i++)
            {
                var r = await wal.AppendAsync(Record(i), Ct);
                await wal.FlushAsync(r.Lsn, Ct);
                acknowledged.Add(r);
            }

            wal.AdvanceApplied(new Lsn(3));
            wal.AdvanceAudited(new Lsn(3));
            Assert.Equal(new Lsn(4), await wal.TruncateAsync(Ct));
            CopyDirectory(Directory, image);

            // One flush: the end of page 0 (LSN 6) and page 1 (LSNs 7..9 and the flush's commit record).
            for (var i = 5; i < 9; i++)
            {
                await wal.AppendAsync(Record(i) with { Reason = i == 8 ? "short" : new string('x', 1500) }, Ct);
            }

            await wal.FlushAsync(wal.LastLsn, Ct);
            after = File.ReadAllBytes(SegmentPath());
        }

        var frames = LocateFrames(SegmentPath(), 9);
        Assert.True(frames[5].End <= PageSize && frames[6].Start >= PageSize && frames[8].End <= 2 * PageSize,
            $"layout premise: LSN 6 ends page 0, LSNs 7..9 are in page 1 ({string.Join(", ", frames)})");
        var commit = FindCommitRecord(after, PageSize);
        Assert.True(commit > frames[8].Start, $"no commit record after LSN 9 in page 1 ({commit})");

        // The crash image: page 1 landed (whole, or without the sector holding the commit record); the rewrite of page 0
        // that carried LSN 6 did not.
        var segment = Path.Combine(image, "log", "nv.log.0");
        var before = File.ReadAllBytes(segment);
        var bytes = new byte[Math.Max(before.Length, after.Length)];
        before.CopyTo(bytes, 0);
        var landedEnd = commitRecordLanded ? 2 * PageSize : commit / SectorSize * SectorSize;
        Assert.True(landedEnd >= frames[7].End, "LSN 8 must be whole in the image");
        after.AsSpan(PageSize, (int)(landedEnd - PageSize)).CopyTo(bytes.AsSpan(PageSize));
        File.WriteAllBytes(segment, bytes);

        var options = Options();
        options.Directory = image;
        await using var reopened = WriteAheadLog.Open(options);
        Assert.Equal(new Lsn(5), reopened.LastLsn);
        Assert.Equal(acknowledged.Skip(3).Select(r => r.RequestId), (await ReadAll(reopened)).Select(r => r.RequestId));
        Assert.NotNull(reopened.Recovery.BrokenTailPath);
        var next = await reopened.AppendAsync(Record(100), Ct);
        Assert.Equal(new Lsn(6), next.Lsn);
        await reopened.FlushAsync(next.Lsn, Ct);
    }

    /// <summary>The address of the first FasterLog commit record (negative entry length) in the page at <paramref name="page"/>, or -1.</summary>
    private static long FindCommitRecord(byte[] segment, int page)
    {
        var offset = 0;
        while (offset + 12 <= PageSize)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(segment.AsSpan(page + offset + 8));
            if (length == 0)
            {
                return -1;
            }

            if (length < 0)
            {
                return page + offset;
            }

            offset += 12 + ((length + 3) & ~3);
        }

        return -1;
    }
}
