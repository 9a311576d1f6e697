using Nv.Wal;

namespace Nv.Unit.Tests.Wal;

/// <summary>A truncation cancelled while its commit is in flight still completes: FasterLog deletes the segments below the
/// cut whatever the caller's token says, and the log's start must follow.</summary>
/// <remarks>The commit used to take the caller's token: cancelled (a host stopping during maintenance), it threw while
/// FasterLog went on to delete the segments, and the first LSN and the index stayed below them; reads from the old first
/// LSN then found the files gone.</remarks>
public sealed class WalTruncationCancelTests : WalTestBase
{
    [Fact]
    public async Task A_truncation_cancelled_during_its_commit_moves_the_logs_start_with_the_deleted_segments()
    {
        WriteGateDevice? device = null;
        await using var wal = new FasterWriteAheadLog(Options(segmentBits: 13), null, path => device = new WriteGateDevice(path));
        await AppendFlushed(wal, 400);
        var before = SegmentFileCount();
        wal.AdvanceApplied(new Lsn(300));
        wal.AdvanceAudited(new Lsn(300));

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        device!.Hold();
        var truncation = wal.TruncateAsync(cancel.Token).AsTask();
        await device.WaitForHeldWriteAsync(Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct); // the commit's write
        await cancel.CancelAsync();
        await Task.Delay(100, Ct);
        device.Release();

        Assert.Equal(new Lsn(301), await truncation);
        await WaitForSegmentDeletion(before);
        Assert.Equal(WalState.Open, wal.State);
        Assert.Equal(new Lsn(301), wal.GetStatistics().FirstLsn);
        Assert.Equal(Enumerable.Range(301, 100).Select(i => (long)i), (await ReadAll(wal)).Select(r => r.Lsn.Value));
        await Assert.ThrowsAsync<WalTruncatedException>(async () => await ReadAll(wal, new Lsn(1)));
    }

    [Fact]
    public async Task A_truncation_cancelled_before_it_starts_changes_nothing()
    {
        await using var wal = Open(segmentBits: 13);
        await AppendFlushed(wal, 400);
        wal.AdvanceApplied(new Lsn(300));
        wal.AdvanceAudited(new Lsn(300));
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await wal.TruncateAsync(cancel.Token));
        await AppendFlushed(wal, 1, 400);
        Assert.Equal(new Lsn(1), wal.GetStatistics().FirstLsn);
        Assert.Equal(401, (await ReadAll(wal)).Count);
    }
}
