using Nv.Audit;

namespace Nv.Unit.Tests.Audit;

/// <summary>The progress reporter behind verify, archive and prune: a phase's start and end always, in between at most one
/// report per interval, the clock read only every 1024 items.</summary>
public sealed class AuditProgressReporterTests
{
    private sealed class Recorder : IProgress<AuditProgress>
    {
        public List<AuditProgress> Reports { get; } = [];

        public void Report(AuditProgress value) => Reports.Add(value);
    }

    [Fact]
    public void At_a_zero_interval_a_phase_reports_its_start_every_1024_items_and_its_end()
    {
        var recorder = new Recorder();
        var reporter = new AuditProgressReporter(recorder, TimeSpan.Zero);

        reporter.Begin(AuditProgressPhase.ArchiveWrite, 5000, "orders");
        for (long i = 1; i <= 5000; i++)
        {
            reporter.Advance(i);
        }

        reporter.End(5000);

        Assert.Equal([0L, 1024, 2048, 3072, 4096, 5000], recorder.Reports.Select(r => r.Done));
        Assert.All(recorder.Reports, r => Assert.Equal((AuditProgressPhase.ArchiveWrite, 5000L, "orders"), (r.Phase, r.Total, r.Chain)));
    }

    [Fact]
    public void A_long_interval_keeps_a_fast_phase_to_its_start_and_end()
    {
        var recorder = new Recorder();
        var reporter = new AuditProgressReporter(recorder, TimeSpan.FromHours(1));

        reporter.Begin(AuditProgressPhase.VerifyEntries, null);
        for (long i = 1; i <= 100_000; i++)
        {
            reporter.Advance(i);
        }

        reporter.End();

        Assert.Equal([(0L, (long?)null), (100_000, null)], recorder.Reports.Select(r => (r.Done, r.Total)));
    }

    [Fact]
    public void Steps_larger_than_1024_items_read_the_clock_at_each_step_and_a_new_phase_starts_from_zero()
    {
        var recorder = new Recorder();
        var reporter = new AuditProgressReporter(recorder, TimeSpan.Zero);

        reporter.Begin(AuditProgressPhase.PruneDelete, 30_000, "orders");
        for (long done = 10_000; done <= 30_000; done += 10_000)
        {
            reporter.Advance(done);
        }

        reporter.End(30_000);
        reporter.Begin(AuditProgressPhase.PruneDelete, 500, "billing");
        reporter.Advance(500);
        reporter.End();

        Assert.Equal([("orders", 0L), ("orders", 10_000), ("orders", 20_000), ("orders", 30_000), ("orders", 30_000), ("billing", 0), ("billing", 500)],
            recorder.Reports.Select(r => (r.Chain!, r.Done)));
    }

    [Fact]
    public void Without_a_listener_nothing_is_reported_and_nothing_throws()
    {
        var reporter = new AuditProgressReporter(null, TimeSpan.Zero);

        reporter.Begin(AuditProgressPhase.VerifyLeaves, 10);
        reporter.Advance(5000);
        reporter.End();

        Assert.False(reporter.IsActive);
    }
}
