using Nv.Unit.Tests.Support;
using Nv.Wal;
using static Nv.Unit.Tests.Support.ReplayRecords;

namespace Nv.Unit.Tests.Pipeline;

public sealed class BootReplayerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Replay_applies_unresolved_records_backfills_audit_and_a_second_run_does_nothing()
    {
        var wal = await WalWithAsync([.. Creates(9), Record(WalOperation.Create, "e1", new { i = 10 })]); // the 10th creates e1 again: rejected

        await using var h = new PipelineHarness(wal);
        var first = await h.Replayer.RunAsync(dryRun: false, progress: null, maxTransientRetries: 0, Ct);

        Assert.Equal(10, first.RecordsRead);
        Assert.Equal(9, first.Replayed);
        Assert.Equal(1, first.Rejected);
        Assert.Equal(9, first.AuditBackfilled);
        Assert.Equal(new Lsn(10), wal.AppliedLsn);
        Assert.Equal(new Lsn(10), wal.AuditedLsn);

        var second = await h.Replayer.RunAsync(dryRun: false, progress: null, maxTransientRetries: 0, Ct);
        Assert.Equal(0, second.RecordsRead);
        Assert.Equal(0, second.AuditBackfilled);
        Assert.Equal(9, h.Audit.Entries.Count);
    }

    [Fact]
    public async Task Every_replay_may_defer_the_audit_indexes_for_the_records_past_the_audited_position_and_builds_them_at_its_end()
    {
        var wal = await WalWithAsync(Creates(10));
        await using var h = new PipelineHarness(wal);
        await h.Replayer.RunAsync(dryRun: false, progress: null, maxTransientRetries: 0, Ct);
        Assert.Equal([10], h.Audit.IndexDeferrals);
        Assert.Equal(1, h.Audit.IndexBuilds);

        await AppendAsync(wal, Creates(4, from: 11));
        await h.Replayer.RunAsync(dryRun: false, progress: null, maxTransientRetries: 0, Ct);
        Assert.Equal([10, 4], h.Audit.IndexDeferrals);
        Assert.Equal(2, h.Audit.IndexBuilds);

        await h.Replayer.RunAsync(dryRun: false, progress: null, maxTransientRetries: 0, Ct);
        Assert.Equal([10, 4, 0], h.Audit.IndexDeferrals);
        Assert.Equal(3, h.Audit.IndexBuilds); // every replay builds what is missing, also one with nothing to replay
    }

    [Fact]
    public async Task With_an_audit_gap_the_deferral_counts_only_the_records_the_wal_still_holds()
    {
        var wal = await WalWithAsync(Creates(10));
        await using var h = new PipelineHarness(wal);
        h.Audit.Unwritable = true; // the replay's appends and its backfill fail: the coordinator knows of a gap
        await h.Replayer.RunAsync(dryRun: false, progress: null, maxTransientRetries: 0, Ct);
        Assert.True(h.Coordinator.HasGap);

        h.Audit.Unwritable = false;
        wal.FirstLsn = new Lsn(7); // truncated below 7 (LSNs 1-6 are no longer in the log)
        await h.Replayer.RunAsync(dryRun: false, progress: null, maxTransientRetries: 0, Ct);
        Assert.Equal(4, h.Audit.IndexDeferrals[^1]); // not 10: the audited position reads as none, the WAL holds 7-10
    }

    [Fact]
    public async Task Dry_run_writes_nothing()
    {
        var wal = await WalWithAsync(Creates(1));
        await using var h = new PipelineHarness(wal);

        var summary = await h.Replayer.RunAsync(dryRun: true, progress: null, maxTransientRetries: 0, Ct);

        Assert.Equal(1, summary.Replayed);
        Assert.Equal(0, h.Db.ApplyCalls);
        Assert.Empty(h.Audit.Entries);
        Assert.Equal(Lsn.None, wal.AppliedLsn);
    }
}
