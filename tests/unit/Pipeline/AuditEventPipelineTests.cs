using System.Text.Json;
using Nv.Audit;
using Nv.Host.Pipeline;
using Nv.Unit.Tests.Support;
using Nv.Wal;

namespace Nv.Unit.Tests.Pipeline;

/// <summary>Custom audit events go through the write pipeline's stages: one WAL record each (operation AuditEvent), no
/// entity written, one audit entry built from the record, and request ids work as for writes.</summary>
public sealed class AuditEventPipelineTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static AuditEventRequest Event(string requestId, string reason = "why") => new()
    {
        RequestId = requestId,
        Category = AuditCategory.Permission,
        Operation = "role-granted",
        EntityId = "user-7",
        UserId = "admin",
        Reason = reason,
        After = JsonSerializer.SerializeToElement(new { role = "auditor" }),
    };

    [Fact]
    public async Task An_event_is_one_WAL_record_and_one_entry_and_no_entity()
    {
        await using var h = new PipelineHarness(ack: AckLevel.Applied);
        h.Pipeline.Start();

        var outcome = await h.Pipeline.RecordAsync(Event("e1"), Ct);

        Assert.Equal(WriteStatus.Applied, outcome.Status);
        var record = Assert.Single(h.Wal.Records);
        Assert.Equal((WalOperation.AuditEvent, "", "test:svc:1:_audit:user-7"), (record.Operation, record.DtoType, record.ReplayKey));
        Assert.Equal(record.Id, outcome.EntryId);
        Assert.Null(await h.Db.GetAsync("User", "user-7", Ct)); // no entity anywhere: the event only has its audit entry
        await WritePipelineTests.WaitUntil(() => h.Audit.Entries.Any(e => e.Id == record.Id));
        var entry = h.Audit.Entries.Single(e => e.Id == record.Id);
        Assert.Equal((AuditCategory.Permission, "role-granted", "admin", "why"), (entry.Category, entry.Operation, entry.UserId, entry.Reason));
    }

    [Fact]
    public async Task A_retry_is_answered_from_the_first_attempt_and_another_event_under_the_id_is_refused()
    {
        await using var h = new PipelineHarness();
        h.Pipeline.Start();
        var first = await h.Pipeline.RecordAsync(Event("e1"), Ct);

        var retry = await h.Pipeline.RecordAsync(Event("e1"), Ct);
        Assert.True(retry.IsReplay);
        Assert.Equal((first.Lsn, first.EntryId), (retry.Lsn, retry.EntryId));
        await Assert.ThrowsAsync<IdempotencyKeyReusedException>(() => h.Pipeline.RecordAsync(Event("e1", reason: "other"), Ct));
        // The same id for an entity write by the same caller is another request too.
        await Assert.ThrowsAsync<IdempotencyKeyReusedException>(() => h.Pipeline.WriteAsync(PipelineHarness.Create("e1", "x") with { UserId = "admin" }, Ct));
        Assert.Single(h.Wal.Records);
    }

    [Fact]
    public async Task A_bad_event_writes_nothing()
    {
        await using var h = new PipelineHarness();
        h.Pipeline.Start();
        Assert.Equal("operation", (await Assert.ThrowsAsync<WriteValidationException>(() =>
            h.Pipeline.RecordAsync(Event("e1") with { Operation = "no spaces allowed" }, Ct))).Field);
        Assert.Equal("category", (await Assert.ThrowsAsync<WriteValidationException>(() =>
            h.Pipeline.RecordAsync(Event("e2") with { Category = AuditCategory.EntityMutation }, Ct))).Field);
        Assert.Equal("entityId", (await Assert.ThrowsAsync<WriteValidationException>(() =>
            h.Pipeline.RecordAsync(Event("e3") with { EntityId = "../x" }, Ct))).Field);
        Assert.Empty(h.Wal.Records);
    }

    [Fact]
    public async Task A_retry_of_a_forgotten_event_names_the_same_entry_even_while_its_audit_waits_for_the_backfill()
    {
        // The answer names the event's entry (its id is the WAL record's). A retry the request-id cache no longer remembers
        // is answered from the database's outcome, which does not keep that id: it was looked up in the audit trail, where
        // an event whose audit failed is missing until the backfill, so the retry named no entry.
        var audit = new InMemoryAuditSink { Unwritable = true };
        await using var h = new PipelineHarness(audit: audit, ack: AckLevel.Applied, configure: o => o.RequestIdCacheSize = 1);
        h.Pipeline.Start();
        var first = await h.Pipeline.RecordAsync(Event("ev-1") with { Ack = AckLevel.Applied }, Ct);
        Assert.NotNull(first.EntryId);
        await WritePipelineTests.WaitUntil(() => h.Coordinator.HasGap); // its audit failed: the entry waits for the backfill
        var key = new Nv.DbWriter.RequestKey("admin", "ev-1");
        for (var i = 0; h.Pipeline.TryGetRemembered(key, out _); i++)
        {
            Assert.True(i < 100, "the event was never forgotten");
            await h.Pipeline.WriteAsync(PipelineHarness.Create("w" + i, "e" + i), Ct);
        }

        var retry = await h.Pipeline.RecordAsync(Event("ev-1") with { Ack = AckLevel.Applied }, Ct);
        Assert.True(retry.IsReplay);
        Assert.Equal(first.EntryId, retry.EntryId);

        audit.Unwritable = false;
        Assert.True(await h.Coordinator.BackfillAsync(null, null, Ct) > 0);
        Assert.Contains(audit.Entries, e => e.Id == first.EntryId);

        // Once the record's resolution is purged too (the WAL moved on), the request outcome still names the entry.
        h.Db.PurgeAllResolutions();
        var late = await h.Pipeline.RecordAsync(Event("ev-1") with { Ack = AckLevel.Applied }, Ct);
        Assert.Equal((true, first.EntryId), (late.IsReplay, late.EntryId));
    }
}
