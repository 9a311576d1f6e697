using Nv.Wal;

namespace Nv.Unit.Tests.Wal;

/// <summary>A truncation frees the disk space of the segments it deletes: nothing keeps a deleted segment open, except a
/// read still running over it, and that read lets go when it ends.</summary>
/// <remarks>The log used to read its segment files through one reader that kept every file it ever opened open until the
/// log closed: recovery opens every segment, each truncation's lookup of its cut another one. A deleted segment's blocks
/// stay allocated while a descriptor names it, so the disk filled with files the statistics and the MaxWalBytes check no
/// longer counted (12 segments truncated to 2 left 10 of them open; 10 rounds of append-then-truncate, 17).</remarks>
public sealed class WalTruncationHandleTests : WalTestBase
{
    [Fact]
    public async Task A_truncation_of_a_reopened_log_leaves_no_deleted_segment_open()
    {
        await using (var wal = Open(segmentBits: 13))
        {
            await AppendFlushed(wal, 400);
        }

        await using (var wal = Open(segmentBits: 13)) // recovery reads every segment
        {
            var before = SegmentFileCount();
            Assert.True(before > 4, $"only {before} segments");
            wal.AdvanceApplied(new Lsn(399));
            wal.AdvanceAudited(new Lsn(399));
            Assert.Equal(new Lsn(400), await wal.TruncateAsync(Ct));
            await WaitForSegmentDeletion(before);

            Assert.Empty(DeletedSegmentsHeldOpen());
            Assert.Equal([400L], (await ReadAll(wal)).Select(r => r.Lsn.Value));
        }
    }

    [Fact]
    public async Task Rounds_of_appends_reads_and_truncations_leave_no_deleted_segment_open()
    {
        await using var wal = Open(segmentBits: 13);
        var deleted = 0;
        for (var round = 0; round < 10; round++)
        {
            await AppendFlushed(wal, 100, round * 100);
            Assert.Equal(100 + (round == 0 ? 0 : 1), (await ReadAll(wal)).Count); // a full scan, as replay and the change feed do
            var before = SegmentFileCount();
            wal.AdvanceApplied(wal.LastLsn);
            wal.AdvanceAudited(wal.LastLsn);
            Assert.Equal(wal.LastLsn, await wal.TruncateAsync(Ct));
            await WaitForSegmentDeletion(before);
            deleted += before - SegmentFileCount();
        }

        Assert.True(deleted >= 20, $"only {deleted} segments were deleted");
        Assert.Empty(DeletedSegmentsHeldOpen());
    }

    [Fact]
    public async Task A_read_running_over_a_truncated_segment_holds_only_that_one_and_lets_go_when_it_ends()
    {
        await using var wal = Open(segmentBits: 13);
        await AppendFlushed(wal, 400);
        var before = SegmentFileCount();
        var read = wal.ReadAsync(new Lsn(1), Ct).GetAsyncEnumerator(Ct);
        Assert.True(await read.MoveNextAsync());
        wal.AdvanceApplied(new Lsn(300));
        wal.AdvanceAudited(new Lsn(300));
        Assert.Equal(new Lsn(301), await wal.TruncateAsync(Ct));
        await WaitForSegmentDeletion(before);

        // The read still holds the segment it is in (deleted: its bytes stay readable to it), and nothing else.
        Assert.Single(DeletedSegmentsHeldOpen());
        await Assert.ThrowsAsync<WalTruncatedException>(async () =>
        {
            while (await read.MoveNextAsync())
            {
            }
        });
        await read.DisposeAsync();
        Assert.Empty(DeletedSegmentsHeldOpen());
    }

    [Fact]
    public async Task A_read_abandoned_over_a_truncated_segment_lets_go_when_disposed()
    {
        await using var wal = Open(segmentBits: 13);
        await AppendFlushed(wal, 400);
        var before = SegmentFileCount();
        var read = wal.ReadAsync(new Lsn(1), Ct).GetAsyncEnumerator(Ct);
        Assert.True(await read.MoveNextAsync());
        wal.AdvanceApplied(new Lsn(300));
        wal.AdvanceAudited(new Lsn(300));
        await wal.TruncateAsync(Ct);
        await WaitForSegmentDeletion(before);
        Assert.Single(DeletedSegmentsHeldOpen());

        await read.DisposeAsync();
        Assert.Empty(DeletedSegmentsHeldOpen());
    }
}
