using System.Diagnostics;
using Nv.Audit;
using Nv.Audit.Archive;
using Nv.Audit.Sqlite;

namespace Nv.Integration.Tests.Audit;

/// <summary>Progress of the long audit operations on the real SQLite store: verification, archiving and pruning report each
/// phase from 0 to its total, monotonically, at a bounded rate, and a cancellation from a progress report stops them.</summary>
public sealed class SqliteAuditProgressTests : AuditStoreFixture
{
    private static readonly DateTimeOffset T0 = new(2025, 6, 1, 0, 0, 0, TimeSpan.Zero);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private SqliteAuditSink Store => (SqliteAuditSink)Sink;

    private IAuditProofs Proofs => (IAuditProofs)Sink;

    private IAuditRetention Retention => (IAuditRetention)Sink;

    private string ArchiveDir => Path.Combine(Directory, "archives");

    // Reports as they come, on the reporting thread (Progress<T> would post them to the pool, out of order).
    private sealed class Recorder(Action<AuditProgress>? onReport = null) : IProgress<AuditProgress>
    {
        public List<AuditProgress> Reports { get; } = [];

        public void Report(AuditProgress value)
        {
            Reports.Add(value);
            onReport?.Invoke(value);
        }

        public List<long> Done(AuditProgressPhase phase) => [.. Reports.Where(r => r.Phase == phase).Select(r => r.Done)];

        public List<AuditProgressPhase> Phases() =>
            [.. Reports.Select(r => r.Phase).Where((p, i) => i == 0 || Reports[i - 1].Phase != p)];
    }

    private async Task AppendTimedAsync(int count, string chain = "orders")
    {
        var entries = Enumerable.Range(0, count).Select(i => Entry(chain, entityId: "o-" + (i % 7), timestamp: T0.AddMinutes(i), requestId: "req-" + i));
        await Sink.AppendAsync([.. entries], Ct);
    }

    private static void AssertRun(Recorder recorder, AuditProgressPhase phase, long total, string? chain = null)
    {
        var run = recorder.Reports.Where(r => r.Phase == phase).ToList();
        Assert.NotEmpty(run);
        Assert.All(run, r => Assert.Equal((total, chain), (r.Total, r.Chain)));
        Assert.Equal(0, run[0].Done);
        Assert.Equal(total, run[^1].Done);
        Assert.True(run.Zip(run.Skip(1)).All(p => p.First.Done <= p.Second.Done), $"{phase} went back: {string.Join(", ", run.Select(r => r.Done))}");
    }

    [Fact]
    public async Task Verify_reports_each_phase_from_zero_to_its_total_every_1024_entries_at_a_zero_interval()
    {
        await AppendTimedAsync(3000);
        await AppendTimedAsync(1500, "billing");
        Assert.Equal(2, (await Proofs.CheckpointAllAsync(Ct)).Count);
        Store.ProgressInterval = TimeSpan.Zero;
        var recorder = new Recorder();

        var result = await Proofs.VerifyAsync(null, recorder, Ct);

        Assert.True(result.IsValid, result.Reason);
        var plain = await Proofs.VerifyAsync(null, Ct);
        Assert.Equal((plain.EntriesChecked, plain.CheckpointsChecked), (result.EntriesChecked, result.CheckpointsChecked));
        Assert.Equal([AuditProgressPhase.VerifyEntries, AuditProgressPhase.VerifyCheckpoints, AuditProgressPhase.VerifyLeaves], recorder.Phases());
        // The total comes from the chains' heads before the scan; the scan reports every 1024 entries, then its end.
        Assert.Equal([0L, 1024, 2048, 3072, 4096, 4500], recorder.Done(AuditProgressPhase.VerifyEntries));
        AssertRun(recorder, AuditProgressPhase.VerifyEntries, 4500);
        Assert.Equal([0L, 2], recorder.Done(AuditProgressPhase.VerifyCheckpoints));
        AssertRun(recorder, AuditProgressPhase.VerifyCheckpoints, 2);
        Assert.Equal([0L, 1024, 2048, 3072, 4096, 4500], recorder.Done(AuditProgressPhase.VerifyLeaves));
        AssertRun(recorder, AuditProgressPhase.VerifyLeaves, 4500);
    }

    [Fact]
    public async Task Verify_at_the_default_interval_reports_a_running_phase_at_most_every_250_ms()
    {
        await AppendTimedAsync(4500);
        var recorder = new Recorder();

        var clock = Stopwatch.StartNew();
        var result = await Proofs.VerifyAsync(null, recorder, Ct);
        clock.Stop();

        Assert.True(result.IsValid, result.Reason);
        AssertRun(recorder, AuditProgressPhase.VerifyEntries, 4500);
        // Its start, its end, and one report per 250 ms at most in between: never one per entry, however fast the scan.
        var bound = 2 + (int)(clock.Elapsed / TimeSpan.FromMilliseconds(250));
        Assert.InRange(recorder.Done(AuditProgressPhase.VerifyEntries).Count, 2, bound);
        Assert.InRange(recorder.Done(AuditProgressPhase.VerifyLeaves).Count, 2, bound);
    }

    [Fact]
    public async Task Archive_and_prune_report_each_chains_range_and_verify_counts_what_pruning_left()
    {
        await AppendTimedAsync(3000);
        Options.PruneBatchSize = 1000;
        await ReopenAsync();
        Store.ProgressInterval = TimeSpan.Zero;

        var archiving = new Recorder();
        var archive = Assert.Single(await Retention.ArchiveAsync(T0.AddMinutes(2500), ArchiveDir, archiving, Ct));

        Assert.Equal((1L, 2500L), (archive.FirstSequence, archive.LastSequence));
        Assert.Equal([AuditProgressPhase.ArchiveWrite, AuditProgressPhase.ArchiveFileCheck], archiving.Phases());
        Assert.Equal([0L, 1024, 2048, 2500], archiving.Done(AuditProgressPhase.ArchiveWrite));
        AssertRun(archiving, AuditProgressPhase.ArchiveWrite, 2500, "orders");
        AssertRun(archiving, AuditProgressPhase.ArchiveFileCheck, 2500, "orders");

        var pruning = new Recorder();
        var pruned = Assert.Single(await Retention.PruneAsync(T0.AddMinutes(2600), pruning, Ct));

        Assert.Equal((1L, 2500L), (pruned.FromSequence, pruned.ThroughSequence));
        Assert.Equal([AuditProgressPhase.ArchiveFileCheck, AuditProgressPhase.PruneDelete], pruning.Phases());
        AssertRun(pruning, AuditProgressPhase.ArchiveFileCheck, 2500, "orders");
        // Chunks of 1000: the clock is read once 1024 entries have gone since it last was (after the second chunk).
        Assert.Equal([0L, 2000, 2500], pruning.Done(AuditProgressPhase.PruneDelete));
        AssertRun(pruning, AuditProgressPhase.PruneDelete, 2500, "orders");

        // What is left: the 500 entries after the range, the audit-archived and the audit-pruned entries; every leaf stays.
        var verifying = new Recorder();
        var result = await Proofs.VerifyAsync(null, verifying, Ct);
        Assert.True(result.IsValid, result.Reason);
        Assert.Equal(502, result.EntriesChecked);
        AssertRun(verifying, AuditProgressPhase.VerifyEntries, 502);
        AssertRun(verifying, AuditProgressPhase.VerifyLeaves, 3002);
    }

    [Fact]
    public async Task A_cancellation_from_a_progress_report_stops_verification_mid_way_and_the_next_one_passes()
    {
        await AppendTimedAsync(4500);
        Store.ProgressInterval = TimeSpan.Zero;
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var recorder = new Recorder(r =>
        {
            if (r is { Phase: AuditProgressPhase.VerifyEntries, Done: >= 2048 })
            {
                cancel.Cancel();
            }
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Proofs.VerifyAsync(null, recorder, cancel.Token));

        Assert.Equal([0L, 1024, 2048], recorder.Done(AuditProgressPhase.VerifyEntries)); // stopped at the next read, no end
        Assert.Equal([AuditProgressPhase.VerifyEntries], recorder.Phases());
        var again = await Proofs.VerifyAsync(null, new Recorder(), Ct);
        Assert.True(again.IsValid, again.Reason);
        Assert.Equal(4500, again.EntriesChecked);
    }

    [Fact]
    public async Task A_cancellation_while_an_archive_is_written_records_nothing_and_the_next_run_writes_the_range()
    {
        await AppendTimedAsync(3000);
        Store.ProgressInterval = TimeSpan.Zero;
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var recorder = new Recorder(r =>
        {
            if (r is { Phase: AuditProgressPhase.ArchiveWrite, Done: >= 1024 })
            {
                cancel.Cancel();
            }
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Retention.ArchiveAsync(T0.AddMinutes(2500), ArchiveDir, recorder, cancel.Token));

        Assert.Empty(await Retention.GetArchivesAsync(Ct));
        var archive = Assert.Single(await Retention.ArchiveAsync(T0.AddMinutes(2500), ArchiveDir, Ct));
        Assert.Equal((1L, 2500L), (archive.FirstSequence, archive.LastSequence));
        Assert.Single(System.IO.Directory.GetFiles(ArchiveDir));
        var verified = await Proofs.VerifyAsync(null, Ct);
        Assert.True(verified.IsValid, verified.Reason);
    }
}
