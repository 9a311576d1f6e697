using Nv.DbWriter;
using Nv.Host.Pipeline;
using Nv.Unit.Tests.Support;
using Nv.Wal;

namespace Nv.Unit.Tests.Pipeline;

/// <summary>Each ack level answers no earlier than its promise: Durable after the WAL group commit, Applied after the
/// database commit, Audited after the audit entry is committed; and the audit runs off the Applied caller's path.</summary>
public sealed class AckLevelTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task With_the_apply_blocked_durable_callers_are_answered_and_applied_and_audited_callers_wait()
    {
        var db = new InMemoryDbWriter();
        var applyGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        db.ApplyGate = applyGate.Task;
        await using var h = new PipelineHarness(db: db, ack: AckLevel.Applied);
        h.Pipeline.Start();

        var durable = h.Pipeline.WriteAsync(Write("d1", "e1", AckLevel.Durable), Ct);
        var applied = h.Pipeline.WriteAsync(Write("a1", "e2", AckLevel.Applied), Ct);
        var audited = h.Pipeline.WriteAsync(Write("u1", "e3", AckLevel.Audited), Ct);

        var accepted = await durable.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Equal(WriteStatus.Accepted, accepted.Status);
        Assert.True(accepted.Lsn <= h.Wal.DurableLsn, "a durable ack must only be given once the WAL group commit covers it");
        await Task.Delay(100, Ct);
        Assert.False(applied.IsCompleted, "an Applied caller was answered before the database commit");
        Assert.False(audited.IsCompleted, "an Audited caller was answered before the database commit");
        Assert.Null(await h.Db.GetAsync("Item", "e1", Ct));

        // While the write is durable but not applied, its outcome reads as accepted; afterwards as applied.
        Assert.Equal(WriteStatus.Accepted, (await h.Pipeline.GetOutcomeAsync("d1", "u1", Ct))!.Status);
        applyGate.SetResult();
        Assert.Equal(WriteStatus.Applied, (await applied.WaitAsync(TimeSpan.FromSeconds(10), Ct)).Status);
        Assert.Equal(WriteStatus.Applied, (await audited.WaitAsync(TimeSpan.FromSeconds(10), Ct)).Status);
        Assert.Equal(WriteStatus.Applied, (await h.Pipeline.GetOutcomeAsync("d1", "u1", Ct))!.Status);
        Assert.NotNull(await h.Db.GetAsync("Item", "e1", Ct));
    }

    [Fact]
    public async Task With_the_audit_blocked_applied_callers_are_answered_and_audited_callers_wait()
    {
        var sink = new InMemoryAuditSink();
        var auditGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        sink.AppendGate = auditGate.Task;
        await using var h = new PipelineHarness(audit: sink, ack: AckLevel.Applied);
        h.Pipeline.Start();

        var audited = h.Pipeline.WriteAsync(Write("u1", "e1", AckLevel.Audited), Ct);
        var applied = await h.Pipeline.WriteAsync(Write("a1", "e2", AckLevel.Applied), Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct);

        Assert.Equal(WriteStatus.Applied, applied.Status);
        Assert.NotNull(await h.Db.GetAsync("Item", "e2", Ct)); // read-your-writes on this host
        Assert.Empty(sink.Entries);
        await Task.Delay(100, Ct);
        Assert.False(audited.IsCompleted, "an Audited caller was answered before its audit entry was committed");

        auditGate.SetResult();
        Assert.Equal(WriteStatus.Applied, (await audited.WaitAsync(TimeSpan.FromSeconds(10), Ct)).Status);
        Assert.Contains(sink.Entries, e => e.RequestId == "u1");
    }

    [Fact]
    public async Task A_retry_of_a_durable_ack_write_returns_its_final_outcome_once_applied()
    {
        await using var h = new PipelineHarness(ack: AckLevel.Durable);
        h.Pipeline.Start();
        var first = await h.Pipeline.WriteAsync(Write("r1", "e1", ack: null), Ct);
        Assert.Equal(WriteStatus.Accepted, first.Status);

        await WritePipelineTests.WaitUntil(() => h.Pipeline.Positions.Applied >= first.Lsn);
        var retry = await h.Pipeline.WriteAsync(Write("r1", "e1", ack: null), Ct);

        Assert.Equal(WriteStatus.Applied, retry.Status);
        Assert.True(retry.IsReplay);
        Assert.Single(h.Wal.Records);
    }

    [Fact]
    public async Task An_unknown_request_id_has_no_outcome_and_a_forgotten_one_is_found_in_the_database()
    {
        var wal = new InMemoryWal();
        var db = new InMemoryDbWriter();
        await using (var before = new PipelineHarness(wal, db))
        {
            before.Pipeline.Start();
            await before.Pipeline.WriteAsync(Write("old", "e1", AckLevel.Applied), Ct);
        }

        await using var after = new PipelineHarness(wal, db);
        after.Pipeline.Start();

        Assert.Null(await after.Pipeline.GetOutcomeAsync("never", "u1", Ct));
        var found = await after.Pipeline.GetOutcomeAsync("old", "u1", Ct);
        Assert.Equal(WriteStatus.Applied, found!.Status);
        Assert.Equal(new Lsn(1), found.Lsn);
    }

    private static WriteRequest Write(string requestId, string entityId, AckLevel? ack) =>
        PipelineHarness.Create(requestId, entityId) with { Ack = ack };

    /// <summary>Fails without IsAudited: an Audited caller was answered during an audit outage (the entry parked for the
    /// backfill, as an audit failure never fails a write), and HTTP told it <c>Preference-Applied: nv-ack=audited</c>.</summary>
    [Fact]
    public async Task An_audited_answer_says_whether_the_entry_is_in_the_trail()
    {
        var sink = new InMemoryAuditSink();
        await using var h = new PipelineHarness(audit: sink, ack: AckLevel.Applied);
        h.Pipeline.Start();

        var inTrail = await h.Pipeline.WriteAsync(Write("u1", "e1", AckLevel.Audited), Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Equal(WriteStatus.Applied, inTrail.Status);
        Assert.True(inTrail.IsAudited);
        Assert.Equal(AckLevel.Audited, global::Nv.Host.Http.AckPreference.Reached(inTrail.Status, inTrail.IsAudited));

        var applied = await h.Pipeline.WriteAsync(Write("a1", "e2", AckLevel.Applied), Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.False(applied.IsAudited);

        sink.Unwritable = true; // the audit store fails: the write still succeeds, its entry waits for the backfill
        var parked = await h.Pipeline.WriteAsync(Write("u2", "e3", AckLevel.Audited), Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Equal(WriteStatus.Applied, parked.Status);
        Assert.False(parked.IsAudited);
        Assert.Equal(AckLevel.Applied, global::Nv.Host.Http.AckPreference.Reached(parked.Status, parked.IsAudited));
    }
}
