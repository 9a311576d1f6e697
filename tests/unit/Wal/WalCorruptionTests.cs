using Nv.Wal;

namespace Nv.Unit.Tests.Wal;

public sealed class WalCorruptionTests : WalTestBase
{
    /// <summary>Writes <paramref name="count"/> records, one flush each, and returns each record's (start, end) byte range in segment 0.</summary>
    private async Task<List<(long Start, long End)>> WriteLog(int count)
    {
        await using var wal = Open();
        for (var i = 0; i < count; i++)
        {
            var r = await wal.AppendAsync(Record(i), Ct);
            await wal.FlushAsync(r.Lsn, Ct);
        }

        return Locate(count);
    }

    /// <summary>Finds each frame by its magic + LSN in segment 0 (layout: 12-byte FasterLog header, then the Nv frame).</summary>
    private List<(long Start, long End)> Locate(int count) => LocateFrames(SegmentPath(), count);

    [Fact]
    public async Task Truncating_the_segment_below_the_committed_address_refuses_to_open_and_point_in_time_opens_the_valid_prefix()
    {
        // A clean close writes FasterLog's commit metadata: every record below its address was acknowledged.
        var ranges = await WriteLog(6);
        var snapshot = Path.Combine(Directory, "snapshot");
        CopyDirectory(LogDirectory, snapshot);
        var original = File.ReadAllBytes(SegmentPath());
        var dataEnd = original.AsSpan().LastIndexOfAnyExcept((byte)0) + 1;
        var cuts = new SortedSet<long>();
        for (var cut = ranges[^2].Start; cut <= original.Length; cut += 13)
        {
            cuts.Add(cut);
        }

        foreach (var (start, end) in ranges.TakeLast(2))
        {
            foreach (var d in new[] { -1, 0, 1, 4, 11, 12, 13, 20, 32, 33 })
            {
                cuts.Add(start + d);
                cuts.Add(end + d);
            }
        }

        cuts.Add(dataEnd);
        foreach (var cut in cuts.Where(c => c <= original.Length))
        {
            Restore(snapshot, original, cut);
            var expectedLast = ranges.Count(r => r.End <= cut);
            if (cut < ranges[^1].End)
            {
                // Acknowledged records were cut away: refuse, naming the file, the offset and the ways forward.
                var ex = Assert.Throws<WalCorruptionException>(() => Open());
                Assert.EndsWith("nv.log.0", ex.Path);
                Assert.InRange(ex.FileOffset, ranges[expectedLast - 1].End, ranges[expectedLast].End);
                Assert.Equal(new Lsn(expectedLast), ex.LastGoodLsn);
                Assert.Contains("acknowledged", ex.Message, StringComparison.Ordinal);
                Assert.Contains("nv wal verify", ex.Message, StringComparison.Ordinal);
                Assert.Contains("PointInTime", ex.Message, StringComparison.Ordinal);
                Assert.Contains("nv.log.0", ex.Message, StringComparison.Ordinal);

                // The operator's explicit choice: cut there, keep every record before, save the rest aside.
                await using var pit = Open(WalRecoveryMode.PointInTime);
                var kept = await ReadAll(pit);
                Assert.Equal(Enumerable.Range(1, expectedLast).Select(i => (long)i), kept.Select(r => r.Lsn.Value));
                Assert.NotNull(pit.Recovery.BrokenTailPath);
                Assert.True(File.Exists(pit.Recovery.BrokenTailPath));
                continue;
            }

            // Past the last record only FasterLog's commit records and zero padding remain: never fewer records, and a cut
            // in the padding after the data is no damage at all.
            try
            {
                await using var wal = Open();
                Assert.True((await ReadAll(wal)).Count == 6, $"cut at {cut}: {wal.Recovery.Detail}");
                Assert.Equal(new Lsn(6), wal.LastLsn);
            }
            catch (WalCorruptionException) when (cut < dataEnd)
            {
            }
        }
    }

    private void Restore(string snapshot, byte[] original, long cut)
    {
        System.IO.Directory.Delete(LogDirectory, recursive: true);
        CopyDirectory(snapshot, LogDirectory);
        File.WriteAllBytes(SegmentPath(), original.AsSpan(0, (int)cut).ToArray());
        foreach (var broken in System.IO.Directory.GetFiles(Directory, "*.broken"))
        {
            File.Delete(broken);
        }
    }

    [Fact]
    public async Task Bit_flip_in_the_last_committed_record_refuses_to_open_by_default()
    {
        var ranges = await WriteLog(5);
        var bytes = File.ReadAllBytes(SegmentPath());
        bytes[ranges[^1].Start + 40] ^= 0x08;
        File.WriteAllBytes(SegmentPath(), bytes);

        var ex = Assert.Throws<WalCorruptionException>(() => Open());
        Assert.Equal(new Lsn(4), ex.LastGoodLsn);
        Assert.Equal(ranges[^1].Start, ex.FileOffset);
        Assert.EndsWith("nv.log.0", ex.Path);
        Assert.Contains("acknowledged", ex.Message, StringComparison.Ordinal);

        await using var wal = Open(WalRecoveryMode.PointInTime);
        Assert.Equal(new Lsn(4), wal.LastLsn);
        Assert.Equal(4, (await ReadAll(wal)).Count);
        Assert.NotNull(wal.Recovery.BrokenTailPath);
        var next = await wal.AppendAsync(Record(50), Ct);
        Assert.Equal(new Lsn(5), next.Lsn);
    }

    [Fact]
    public async Task Bit_flip_in_the_last_record_is_refused_in_absolute_consistency_mode()
    {
        var ranges = await WriteLog(5);
        var bytes = File.ReadAllBytes(SegmentPath());
        bytes[ranges[^1].Start + 40] ^= 0x08;
        File.WriteAllBytes(SegmentPath(), bytes);

        var ex = Assert.Throws<WalCorruptionException>(() => Open(WalRecoveryMode.AbsoluteConsistency));
        Assert.Equal(new Lsn(4), ex.LastGoodLsn);
        Assert.Equal(ranges[^1].Start, ex.FileOffset);
        Assert.EndsWith("nv.log.0", ex.Path);
    }

    [Theory]
    [InlineData(12)]
    [InlineData(30)]
    [InlineData(100)]
    public async Task Bit_flip_in_a_middle_record_refuses_to_open_by_default(int offsetInEntry)
    {
        var ranges = await WriteLog(8);
        var bytes = File.ReadAllBytes(SegmentPath());
        bytes[ranges[3].Start + offsetInEntry] ^= 0x01;
        File.WriteAllBytes(SegmentPath(), bytes);

        var ex = Assert.Throws<WalCorruptionException>(() => Open());
        Assert.Equal(new Lsn(3), ex.LastGoodLsn);
        Assert.Equal(ranges[3].Start, ex.FileOffset);
        Assert.EndsWith("nv.log.0", ex.Path);
        Assert.Throws<WalCorruptionException>(() => Open(WalRecoveryMode.AbsoluteConsistency));
    }

    [Fact]
    public async Task Mid_log_damage_in_point_in_time_mode_cuts_at_the_damage()
    {
        var ranges = await WriteLog(8);
        var bytes = File.ReadAllBytes(SegmentPath());
        bytes[ranges[3].Start + 50] ^= 0x40;
        File.WriteAllBytes(SegmentPath(), bytes);

        await using (var wal = Open(WalRecoveryMode.PointInTime))
        {
            Assert.Equal(new Lsn(3), wal.LastLsn);
            Assert.Equal(3, (await ReadAll(wal)).Count);
            Assert.NotNull(wal.Recovery.BrokenTailPath);
            await AppendFlushed(wal, 2);
        }

        await using (var wal = Open())
        {
            Assert.Equal(Enumerable.Range(1, 5).Select(i => (long)i), (await ReadAll(wal)).Select(r => r.Lsn.Value));
        }
    }

    [Fact]
    public async Task Mid_log_damage_in_skip_mode_keeps_every_valid_record()
    {
        var ranges = await WriteLog(8);
        var bytes = File.ReadAllBytes(SegmentPath());
        bytes[ranges[3].Start + 50] ^= 0x40;
        File.WriteAllBytes(SegmentPath(), bytes);

        await using (var wal = Open(WalRecoveryMode.SkipAnyCorruptedRecord))
        {
            Assert.Equal(1, wal.Recovery.RecordsSkipped);
            Assert.Equal(new long[] { 1, 2, 3, 5, 6, 7, 8 }, (await ReadAll(wal)).Select(r => r.Lsn.Value));
            Assert.Equal(new Lsn(8), wal.LastLsn);
        }

        await using (var wal = Open())
        {
            Assert.Equal(new long[] { 1, 2, 3, 5, 6, 7, 8 }, (await ReadAll(wal)).Select(r => r.Lsn.Value));
        }
    }

    [Fact]
    public async Task Zero_filled_acknowledged_records_refuse_to_open()
    {
        var ranges = await WriteLog(6);
        var bytes = File.ReadAllBytes(SegmentPath());
        Array.Clear(bytes, (int)ranges[4].Start + 20, bytes.Length - (int)ranges[4].Start - 20);
        File.WriteAllBytes(SegmentPath(), bytes);

        var ex = Assert.Throws<WalCorruptionException>(() => Open());
        Assert.Equal(new Lsn(4), ex.LastGoodLsn);
        Assert.Equal(ranges[4].Start, ex.FileOffset);

        await using var wal = Open(WalRecoveryMode.PointInTime);
        Assert.Equal(new Lsn(4), wal.LastLsn);
        Assert.Equal(4, (await ReadAll(wal)).Count);
    }

    [Fact]
    public async Task A_never_written_page_past_the_commit_point_is_cut_there_even_when_later_pages_reached_the_disk()
    {
        // The CI failure behind dense-LSN validation: a page write failed (EIO/ENOSPC) while a later page of records
        // still reached the disk, and no commit ever covered them. Recovery must cut the log at the never-written page
        // (saving the rest aside), never join the later records on with their LSNs jumping over the missing ones.
        const int pageBytes = 1 << 12;
        const int flushed = 20;
        const int total = 120;
        var image = Path.Combine(Directory, "image");
        await using (var wal = Open())
        {
            for (var i = 0; i < flushed; i++)
            {
                var r = await wal.AppendAsync(Record(i), Ct);
                await wal.FlushAsync(r.Lsn, Ct);
            }

            // Appended, never flushed: FasterLog still writes full pages out as the tail moves on.
            for (var i = flushed; i < total; i++)
            {
                await wal.AppendAsync(Record(i), Ct);
            }

            await Task.Delay(200, Ct);
            CopyDirectory(Directory, image); // the crash image: no flush, no clean close
        }

        var segment = Path.Combine(image, "log", "nv.log.0");
        var ranges = LocateFrames(segment, total, untilMissing: true);
        var committedEnd = ranges[flushed - 1].End;
        var holeStart = (committedEnd / pageBytes + 1) * pageBytes;
        var lastBefore = ranges.FindLastIndex(r => r.End <= holeStart) + 1;
        var firstAfter = ranges.FindIndex(r => r.Start >= holeStart + pageBytes) + 1;
        Assert.True(firstAfter > lastBefore + 1, $"records after the hole must have reached the disk (found {firstAfter} after {lastBefore})");
        var bytes = File.ReadAllBytes(segment);
        Array.Clear(bytes, (int)holeStart, pageBytes);
        File.WriteAllBytes(segment, bytes);

        var options = Options();
        options.Directory = image;
        await using (var wal = WriteAheadLog.Open(options))
        {
            Assert.Equal(new Lsn(lastBefore), wal.LastLsn);
            Assert.Equal(Enumerable.Range(1, lastBefore).Select(i => (long)i), (await ReadAll(wal)).Select(r => r.Lsn.Value));
            Assert.NotNull(wal.Recovery.BrokenTailPath);
            Assert.True(File.Exists(wal.Recovery.BrokenTailPath), wal.Recovery.BrokenTailPath);

            // The next append continues densely after the cut.
            var next = await wal.AppendAsync(Record(1000), Ct);
            await wal.FlushAsync(next.Lsn, Ct);
            Assert.Equal(new Lsn(lastBefore + 1), next.Lsn);
        }

        await using (var reopened = WriteAheadLog.Open(options))
        {
            Assert.Equal(Enumerable.Range(1, lastBefore + 1).Select(i => (long)i), (await ReadAll(reopened)).Select(r => r.Lsn.Value));
        }
    }

    [Fact]
    public async Task Zero_filled_entry_header_of_the_last_committed_record_refuses_to_open_and_is_never_skipped()
    {
        var ranges = await WriteLog(6);
        var bytes = File.ReadAllBytes(SegmentPath());
        Array.Clear(bytes, (int)ranges[5].Start, 12);
        File.WriteAllBytes(SegmentPath(), bytes);

        var ex = Assert.Throws<WalCorruptionException>(() => Open());
        Assert.Equal(new Lsn(5), ex.LastGoodLsn);

        await using var wal = Open(WalRecoveryMode.PointInTime);
        Assert.Equal(new Lsn(5), wal.LastLsn);
    }

    [Fact]
    public async Task Lost_commit_metadata_with_existing_segments_is_detected_and_not_opened_empty()
    {
        await WriteLog(7);
        System.IO.Directory.Delete(Path.Combine(LogDirectory, "commits"), recursive: true);

        await using (var wal = Open())
        {
            Assert.Equal(new Lsn(7), wal.LastLsn);
            Assert.Equal(7, (await ReadAll(wal)).Count);
        }

        await WriteLog(0);
    }

    [Fact]
    public async Task Watermark_beyond_the_recovered_log_is_data_loss()
    {
        await using (var wal = Open())
        {
            await AppendFlushed(wal, 5);
            wal.AdvanceApplied(new Lsn(5));
            wal.AdvanceAudited(new Lsn(5));
            await wal.PersistWatermarksAsync(Ct);
        }

        System.IO.Directory.Delete(LogDirectory, recursive: true);
        var ex = Assert.Throws<WalCorruptionException>(() => Open());
        Assert.Contains("Data loss", ex.Message);

        await using (var wal = Open(WalRecoveryMode.PointInTime))
        {
            Assert.Equal(new Lsn(5), wal.LastLsn);
            var next = await wal.AppendAsync(Record(9), Ct);
            Assert.Equal(new Lsn(6), next.Lsn);
        }
    }
}
