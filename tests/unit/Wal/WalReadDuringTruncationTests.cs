using Nv.Wal;

namespace Nv.Unit.Tests.Wal;

/// <summary>A read a truncation overtakes returns the records it can still read, then <see cref="WalTruncatedException"/>;
/// never <see cref="WalCorruptionException"/> (a change-feed consumer got 500 instead of 410: a segment deleted under
/// the read read as 0 bytes, which the read reported as damage).</summary>
public sealed class WalReadDuringTruncationTests : WalTestBase
{
    [Fact]
    public async Task A_read_overtaken_by_a_truncation_returns_its_segments_records_then_truncated()
    {
        await using var wal = Open(segmentBits: 13);
        var written = await AppendFlushed(wal, 400);
        var before = SegmentFileCount();
        var read = wal.ReadAsync(new Lsn(1), Ct).GetAsyncEnumerator(Ct);
        var lsns = new List<long>();
        Assert.True(await read.MoveNextAsync());
        lsns.Add(read.Current.Lsn.Value);
        wal.AdvanceApplied(new Lsn(300));
        wal.AdvanceAudited(new Lsn(300));
        Assert.Equal(new Lsn(301), await wal.TruncateAsync(Ct));
        await WaitForSegmentDeletion(before);

        var truncated = await Assert.ThrowsAsync<WalTruncatedException>(async () =>
        {
            while (await read.MoveNextAsync())
            {
                Assert.Equal(written[(int)read.Current.Lsn.Value - 1].Id, read.Current.Id);
                lsns.Add(read.Current.Lsn.Value);
            }
        });
        await read.DisposeAsync();

        // The records of the segment the read had open (it keeps reading the deleted file), in order, then the first it missed.
        Assert.Equal(Enumerable.Range(1, lsns.Count).Select(i => (long)i), lsns);
        Assert.True(lsns.Count > 1, "the read lost the segment it had open");
        Assert.Equal(new Lsn(lsns.Count + 1), truncated.RequestedLsn);
        Assert.Equal(new Lsn(301), truncated.FirstLsn);
        Assert.Equal(Enumerable.Range(301, 100).Select(i => (long)i), (await ReadAll(wal)).Select(r => r.Lsn.Value));
    }

    [Fact]
    public async Task Reads_that_find_segments_deleted_before_the_logs_start_moved_are_truncated_or_restart_at_the_cut()
    {
        // FasterLog deletes the segments during the truncation's commit; the log's first LSN moves only after it returns. A
        // read in between found no file and no truncation to explain it.
        await using var wal = Open(segmentBits: 13);
        var faster = Assert.IsType<FasterWriteAheadLog>(wal);
        await AppendFlushed(wal, 400);
        var before = SegmentFileCount();
        var running = wal.ReadAsync(new Lsn(1), Ct).GetAsyncEnumerator(Ct);
        Assert.True(await running.MoveNextAsync());
        wal.AdvanceApplied(new Lsn(300));
        wal.AdvanceAudited(new Lsn(300));
        Exception? runningEnd = null;
        Exception? fromOne = null;
        List<long>? from310 = null;
        faster.AfterTruncationCommit = async () =>
        {
            await WaitForSegmentDeletion(before);
            Assert.Equal(new Lsn(1), wal.GetStatistics().FirstLsn); // the window: files gone, start not moved yet
            runningEnd = await Xunit.Record.ExceptionAsync(async () =>
            {
                while (await running.MoveNextAsync())
                {
                }
            });
            fromOne = await Xunit.Record.ExceptionAsync(async () => await ReadAll(wal, new Lsn(1)));

            // 310 is held, but the index entry a read of it starts from (LSN 257) lay in a deleted segment.
            from310 = [.. (await ReadAll(wal, new Lsn(310))).Select(r => r.Lsn.Value)];
        };

        Assert.Equal(new Lsn(301), await wal.TruncateAsync(Ct));
        await running.DisposeAsync();

        Assert.Equal(new Lsn(301), Assert.IsType<WalTruncatedException>(runningEnd).FirstLsn);
        var truncated = Assert.IsType<WalTruncatedException>(fromOne);
        Assert.Equal(new Lsn(1), truncated.RequestedLsn);
        Assert.Equal(new Lsn(301), truncated.FirstLsn);
        Assert.Equal(Enumerable.Range(310, 91).Select(i => (long)i), from310);
    }
}
