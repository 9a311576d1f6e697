using Nv.Host.Pipeline;
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

    /// <summary>Boot replay retried every failure as if the database were briefly down (a host started with no retry
    /// limit): a deterministic one kept the host from ever becoming ready.</summary>
    [Fact]
    public async Task A_failure_the_writer_calls_permanent_stops_the_replay_instead_of_retrying_for_ever()
    {
        var wal = await WalWithAsync(Creates(3));
        var db = new InMemoryDbWriter { ApplyFailure = new Nv.DbWriter.DbWriterException("database disk image is malformed", isTransient: false) };
        await using var h = new PipelineHarness(wal, db);

        var failure = await Assert.ThrowsAsync<Nv.DbWriter.DbWriterException>(() =>
            h.Replayer.RunAsync(dryRun: false, progress: null, maxTransientRetries: null, Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct));

        Assert.Contains("database disk image is malformed", failure.Message, StringComparison.Ordinal);
        Assert.Contains("lsn 1", failure.Message, StringComparison.Ordinal);
        Assert.Equal(0, db.ApplyCalls); // none applied
    }

    [Fact]
    public async Task A_transient_failure_is_retried_until_the_database_is_back()
    {
        var wal = await WalWithAsync(Creates(3));
        var db = new InMemoryDbWriter { ApplyFailure = new Nv.DbWriter.DbWriterException("database is locked", isTransient: true) };
        await using var h = new PipelineHarness(wal, db);

        var replay = h.Replayer.RunAsync(dryRun: false, progress: null, maxTransientRetries: null, Ct);
        await Task.Delay(300, Ct); // a few retries (the first pauses are short)
        Assert.False(replay.IsCompleted);

        db.ApplyFailure = null;
        var summary = await replay.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.Equal(3, summary.Replayed);
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
    public async Task A_failed_index_build_is_retried_with_a_growing_pause_until_one_succeeds_and_never_during_an_audit_gap()
    {
        var wal = await WalWithAsync(Creates(10));
        await using var h = new PipelineHarness(wal);
        h.Audit.FailIndexBuilds = 3; // the replay's build and the next two fail (a full disk)
        h.Audit.Unwritable = true; // and the audit store takes no entries: a gap
        await h.Replayer.RunAsync(dryRun: false, progress: null, maxTransientRetries: 0, Ct);
        Assert.Equal(1, h.Audit.IndexBuilds);
        Assert.Contains(h.AuditLogger.Collector.GetSnapshot(), r => r.Id.Id == 3173);
        Assert.True(h.Coordinator.HasGap);

        await h.Coordinator.RetryIndexBuildAsync(Ct);
        Assert.Equal(1, h.Audit.IndexBuilds); // not while audit writes fail
        h.Audit.Unwritable = false;
        await h.Coordinator.BackfillAsync(null, null, Ct);
        Assert.False(h.Coordinator.HasGap);
        await h.Pipeline.RunMaintenanceAsync(Ct);
        Assert.Equal(1, h.Audit.IndexBuilds); // the pass the durable-point loop also runs (WAL over its limit) never builds

        var builds = new List<int>();
        for (var pass = 0; pass < 8; pass++)
        {
            await h.Coordinator.RetryIndexBuildAsync(Ct);
            builds.Add(h.Audit.IndexBuilds);
        }

        // Retried at the first pass (fails), then after 1 pass (fails), then after 3 (built); nothing after that.
        Assert.Equal([2, 2, 3, 3, 3, 3, 4, 4], builds);
        Assert.Equal(2, h.AuditLogger.Collector.GetSnapshot().Count(r => r.Id.Id == 3174)); // one WARN per failed retry, no stack
        Assert.Equal(10, h.Audit.Entries.Count);
    }

    [Fact]
    public async Task A_stop_ends_an_index_build_retry_first_so_the_audit_stage_it_holds_up_can_drain()
    {
        await using var h = await AfterAFailedIndexBuildAsync();
        h.Audit.BuildsHoldTheWriter = true; // the retry holds the audit store's writer until it is cancelled
        h.Pipeline.Start();
        await h.Audit.WriterHeldByBuild.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        var write = h.Pipeline.WriteAsync(PipelineHarness.Create("r-11", "e-11"), Ct); // ack=audited: its entry waits for the writer

        // Ended only at the end of the stop, the build would hold the audit stage until the stop's timeout (10 s here).
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await h.Pipeline.StopAsync(timeout.Token);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"the stop took {clock.Elapsed}");
        Assert.DoesNotContain(h.PipelineLogger.Collector.GetSnapshot(), r => r.Id.Id == 3012); // not timed out
        Assert.Equal(WriteStatus.Applied, (await write.WaitAsync(TimeSpan.FromSeconds(5), Ct)).Status);
        Assert.Equal(11, h.Audit.Entries.Count);
    }

    [Fact]
    public async Task The_maintenance_loop_retries_a_failed_index_build()
    {
        await using var h = await AfterAFailedIndexBuildAsync();
        Assert.Equal(1, h.Audit.IndexBuilds);

        h.Pipeline.Start();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (h.Audit.IndexBuilds < 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "the maintenance loop did not retry the index build within 10 s");
            await Task.Delay(10, Ct);
        }

        await Task.Delay(200, Ct); // ten more passes: the build succeeded, nothing more to retry
        Assert.Equal(2, h.Audit.IndexBuilds);
    }

    // A harness whose boot replay's index build failed, its maintenance loop ticking every 20 ms once started.
    private static async Task<PipelineHarness> AfterAFailedIndexBuildAsync()
    {
        var h = new PipelineHarness(await WalWithAsync(Creates(10)), configure: o => o.MaintenanceInterval = TimeSpan.FromMilliseconds(20));
        h.Audit.FailIndexBuilds = 1;
        await h.Replayer.RunAsync(dryRun: false, progress: null, maxTransientRetries: 0, Ct);
        return h;
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
