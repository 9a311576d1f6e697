using Nv.DbWriter;
using Nv.Host.Pipeline;
using Nv.Unit.Tests.Support;
using Nv.Wal;

namespace Nv.Unit.Tests.Pipeline;

/// <summary>One bad stage never takes the service down silently: an unexpected exception in any stage faults the
/// pipeline (readiness false, later writes refused), every waiting caller is answered (with its LSN when the record is
/// durable), and the Faulted event lets the host stop; callers still waiting when a stop times out are answered too;
/// and a slow audit store holds writers back (bounded backlog) without refusing any.</summary>
public sealed class StageFailureTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_throwing_entry_builder_faults_the_pipeline_and_answers_every_waiting_caller_with_its_lsn()
    {
        await using var h = new PipelineHarness(ack: AckLevel.Audited);
        h.Coordinator.BuildEntry = (_, _) => throw new InvalidOperationException("diff exploded");
        Exception? faulted = null;
        h.Pipeline.Faulted += e => faulted = e;
        h.Pipeline.Start();

        var error = await Assert.ThrowsAsync<PipelineUnavailableException>(() =>
            h.Pipeline.WriteAsync(PipelineHarness.Create("r1", "e1"), Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct));

        Assert.Equal(new Lsn(1), error.DurableLsn); // durable: the next boot replay applies and audits it
        Assert.Contains("audit", error.Message, StringComparison.Ordinal);
        await WritePipelineTests.WaitUntil(() => faulted is not null); // raised once every caller was answered
        var fault = Assert.IsType<PipelineFaultedException>(faulted);
        Assert.Equal("audit", fault.Stage);
        Assert.False(h.Pipeline.IsReady);
        var refused = await Assert.ThrowsAsync<PipelineUnavailableException>(() => h.Pipeline.WriteAsync(PipelineHarness.Create("r2", "e2"), Ct));
        Assert.Null(refused.DurableLsn);
        Assert.Single(h.Wal.Records);
    }

    [Fact]
    public async Task A_transient_store_failure_while_building_entries_is_an_audit_failure_that_the_backfill_heals_not_a_fault()
    {
        // Building an encrypted entry may read a data key from the store (a key the cache let go of): a transient store
        // error there used to end the audit stage and fault the pipeline, breaking "an audit failure never fails a write".
        await using var h = new PipelineHarness(ack: AckLevel.Applied);
        var calls = 0;
        h.Coordinator.BuildEntry = (record, before) => Interlocked.Increment(ref calls) == 1
            ? throw new DbWriterException("database is locked", isTransient: true)
            : Nv.Audit.AuditEntryFactory.FromWalRecord(record, before);
        h.Pipeline.Start();

        var outcome = await h.Pipeline.WriteAsync(PipelineHarness.Create("r1", "e1"), Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Equal(WriteStatus.Applied, outcome.Status);
        await WritePipelineTests.WaitUntil(() => h.Coordinator.HasGap);
        Assert.Null(h.Pipeline.Fault);
        Assert.True(h.Pipeline.IsReady);
        Assert.DoesNotContain(h.Audit.Entries, e => e.RequestId == "r1");

        Assert.Equal(1, await h.Coordinator.BackfillAsync(null, null, Ct));
        Assert.Single(h.Audit.Entries, e => e.RequestId == "r1");
        Assert.Equal(WriteStatus.Applied, (await h.Pipeline.WriteAsync(PipelineHarness.Create("r2", "e2"), Ct)).Status);
    }

    [Fact]
    public async Task A_non_transient_database_failure_faults_the_pipeline_instead_of_being_retried_forever()
    {
        var db = new InMemoryDbWriter { ApplyFailure = new DbWriterException("database disk image is malformed", isTransient: false) };
        await using var h = new PipelineHarness(db: db, ack: AckLevel.Applied);
        h.Pipeline.Start();

        var error = await Assert.ThrowsAsync<PipelineUnavailableException>(() =>
            h.Pipeline.WriteAsync(PipelineHarness.Create("r1", "e1"), Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct));

        Assert.Equal(new Lsn(1), error.DurableLsn);
        Assert.Equal("apply", Assert.IsType<PipelineFaultedException>(h.Pipeline.Fault).Stage);
        Assert.False(h.Pipeline.IsReady);

        // The stop is in the audit trail, as a system event with the store's error class.
        await h.Coordinator.DrainSystemEntriesAsync(TimeSpan.FromSeconds(30));
        var stopped = Assert.Single(h.Audit.Entries, e => e.Operation == "store-stopped");
        Assert.Equal((Nv.Audit.AuditCategory.SystemEvents, "database", "Internal"), (stopped.Category, stopped.EntityId, stopped.Metadata["errorClass"]));
    }

    [Fact]
    public async Task Callers_still_waiting_when_the_stop_times_out_are_answered_with_their_lsn()
    {
        var db = new InMemoryDbWriter { ApplyGate = new TaskCompletionSource().Task }; // never completes
        await using var h = new PipelineHarness(db: db, ack: AckLevel.Applied);
        h.Pipeline.Start();
        var waiting = h.Pipeline.WriteAsync(PipelineHarness.Create("r1", "e1"), Ct);
        await WritePipelineTests.WaitUntil(() => h.Wal.DurableLsn == new Lsn(1));

        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await h.Pipeline.StopAsync(timeout.Token);

        var error = await Assert.ThrowsAsync<PipelineUnavailableException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(10), Ct));
        Assert.Equal(new Lsn(1), error.DurableLsn);
        Assert.Contains("stopped", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_slow_audit_store_holds_writers_back_within_max_lag_refuses_nothing_and_drains()
    {
        const int maxLag = 100;
        const int callers = 32;
        var sink = new InMemoryAuditSink { AppendDelay = TimeSpan.FromMilliseconds(20) };
        await using var h = new PipelineHarness(audit: sink, ack: AckLevel.Applied, configure: o =>
        {
            o.MaxLagRecords = maxLag;
            o.MaxLagTime = TimeSpan.FromMinutes(1);
            o.MaxAuditBatchSize = 64;
        });
        h.Pipeline.Start();
        var worst = 0L;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                worst = Math.Max(worst, h.Pipeline.Positions.AuditBacklog);
                await Task.Delay(1, CancellationToken.None);
            }
        }, CancellationToken.None);

        var outcomes = await Task.WhenAll(Enumerable.Range(0, callers).Select(async c =>
        {
            var mine = new List<WriteOutcome>();
            for (var i = 0; i < 40; i++)
            {
                mine.Add(await h.Pipeline.WriteAsync(PipelineHarness.Create($"c{c}-{i}", $"e{c}-{i}"), Ct));
            }

            return mine;
        }));
        await sampling.CancelAsync();
        await sampler;

        Assert.All(outcomes.SelectMany(o => o), o => Assert.Equal(WriteStatus.Applied, o.Status));
        // A writer reserves its place before it joins the queue: the backlog never passes MaxLagRecords.
        Assert.InRange(worst, 1, maxLag);
        Assert.True(h.Pipeline.BackpressureWaits > 0, "no writer was ever held back by the audit backlog");
        await WritePipelineTests.WaitUntil(() => h.Pipeline.Positions.AuditBacklog == 0);
        Assert.Equal(callers * 40, sink.Entries.Count);
        Assert.True(sink.BatchSizes.Max() > callers, "the audit batches should grow with the backlog");
    }

    [Fact]
    public async Task Past_max_wal_bytes_during_an_audit_outage_new_writes_are_refused_with_the_reason_and_resume_when_it_shrinks()
    {
        await using var h = new PipelineHarness(ack: AckLevel.Applied, configure: o => o.MaxWalBytes = 1000);
        h.Pipeline.Start();
        await h.Pipeline.WriteAsync(PipelineHarness.Create("before", "e0"), Ct);
        h.Audit.Unwritable = true;
        await h.Pipeline.WriteAsync(PipelineHarness.Create("during", "e1"), Ct);
        await WritePipelineTests.WaitUntil(() => h.Coordinator.HasGap);
        h.Wal.SizeBytes = 5000; // the WAL could not be truncated below the unaudited records

        await h.Pipeline.CheckWalSizeAsync(Ct);
        var refused = await Assert.ThrowsAsync<PipelineUnavailableException>(() => h.Pipeline.WriteAsync(PipelineHarness.Create("over", "e2"), Ct));

        Assert.Contains("MaxWalBytes", refused.Message, StringComparison.Ordinal);
        Assert.Contains("audit store is failing", refused.Message, StringComparison.Ordinal);
        Assert.Null(refused.DurableLsn);
        Assert.Equal(2, h.Wal.Records.Count); // nothing written for the refused request

        h.Wal.SizeBytes = 500;
        await h.Pipeline.CheckWalSizeAsync(Ct);
        Assert.Equal(WriteStatus.Applied, (await h.Pipeline.WriteAsync(PipelineHarness.Create("after", "e3"), Ct)).Status);
    }
}
