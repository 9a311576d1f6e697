using System.Text.Json;
using Microsoft.Extensions.Logging;
using Nv.Audit;
using Nv.DbWriter;
using Nv.Host.Pipeline;
using Nv.Unit.Tests.Support;
using Nv.Wal;

namespace Nv.Unit.Tests.Pipeline;

public sealed class WritePipelineTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Concurrent_writes_each_get_their_own_outcome_and_one_audit_entry()
    {
        await using var h = new PipelineHarness();
        h.Pipeline.Start();
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => h.Pipeline.WriteAsync(PipelineHarness.Create("r" + i, "e" + i), Ct)));

        Assert.All(outcomes, o => Assert.Equal(WriteStatus.Applied, o.Status));
        Assert.Equal(200, outcomes.Select(o => o.Lsn).Distinct().Count());
        Assert.Equal(200, h.Wal.Records.Count);
        Assert.Equal(200, h.Audit.Entries.Count);
        Assert.Equal(h.Wal.Records.Select(r => r.Id).Order(), h.Audit.Entries.Select(e => e.Id).Order());
        Assert.Equal(new Lsn(200), h.Pipeline.Positions.Applied);
        Assert.Equal(new Lsn(200), h.Coordinator.Audited);
        Assert.Equal(Lsn.None, h.Wal.AppliedLsn); // the WAL's watermarks wait for a durable point of the stores
        await h.Pipeline.MakeStoresDurableAsync(Ct);
        Assert.Equal(new Lsn(200), h.Wal.AppliedLsn);
        Assert.Equal(new Lsn(200), h.Wal.AuditedLsn);
    }

    [Fact]
    public async Task A_retried_request_id_returns_the_first_outcome_and_writes_nothing_new()
    {
        await using var h = new PipelineHarness();
        h.Pipeline.Start();
        var first = await h.Pipeline.WriteAsync(PipelineHarness.Create("same", "e1", 1), Ct);
        var retry = await h.Pipeline.WriteAsync(PipelineHarness.Create("same", "e1", 1), Ct);

        Assert.Equal(first.Lsn, retry.Lsn);
        Assert.Equal(first.Status, retry.Status);
        Assert.True(retry.IsReplay);
        Assert.Single(h.Wal.Records);
        Assert.Equal(1, (await h.Db.GetAsync("Item", "e1", Ct))!.Document.GetProperty("n").GetInt32());
    }

    [Fact]
    public async Task A_request_id_seen_before_a_restart_is_found_in_the_database()
    {
        var wal = new InMemoryWal();
        var db = new InMemoryDbWriter();
        await using (var before = new PipelineHarness(wal, db))
        {
            before.Pipeline.Start();
            await before.Pipeline.WriteAsync(PipelineHarness.Create("r-restart", "e1"), Ct);
        }

        await using var after = new PipelineHarness(wal, db);
        after.Pipeline.Start();
        var retry = await after.Pipeline.WriteAsync(PipelineHarness.Create("r-restart", "e1"), Ct);

        Assert.True(retry.IsReplay);
        Assert.Equal(WriteStatus.Applied, retry.Status);
        Assert.Single(wal.Records);
    }

    [Fact]
    public async Task Retries_the_process_forgot_are_answered_from_the_database_in_a_concurrent_batch()
    {
        var wal = new InMemoryWal();
        var db = new InMemoryDbWriter();
        await using (var before = new PipelineHarness(wal, db))
        {
            before.Pipeline.Start();
            await Task.WhenAll(Enumerable.Range(0, 10).Select(i => before.Pipeline.WriteAsync(PipelineHarness.Create("old-" + i, "e" + i), Ct)));
        }

        await using var after = new PipelineHarness(wal, db);
        after.Pipeline.Start();
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => after.Pipeline.WriteAsync(
            i % 2 == 0 ? PipelineHarness.Create("old-" + (i / 2), "e" + (i / 2)) : PipelineHarness.Create("new-" + i, "n" + i), Ct)));

        Assert.All(outcomes, o => Assert.Equal(WriteStatus.Applied, o.Status));
        Assert.All(outcomes.Where(o => o.RequestId.StartsWith("old-", StringComparison.Ordinal)), o => Assert.True(o.IsReplay));
        Assert.All(outcomes.Where(o => o.RequestId.StartsWith("new-", StringComparison.Ordinal)), o => Assert.False(o.IsReplay));
        Assert.Equal(20, wal.Records.Count); // 10 before the restart + the 10 new ones; no retry reached the WAL
    }

    [Fact]
    public async Task A_failed_request_id_lookup_refuses_the_writes_and_writes_nothing()
    {
        await using var h = new PipelineHarness();
        h.Pipeline.Start();
        h.Db.LookupFailure = new DbWriterException("resolutions unreadable", isTransient: true);

        var error = await Assert.ThrowsAsync<DbWriterException>(() => h.Pipeline.WriteAsync(PipelineHarness.Create("l1", "e1"), Ct));
        Assert.Contains("unreadable", error.Message, StringComparison.Ordinal);
        Assert.Empty(h.Wal.Records);
        Assert.True(h.Pipeline.IsReady);

        // The refused request id was not taken: once the database answers, the same request is a fresh write.
        h.Db.LookupFailure = null;
        var retry = await h.Pipeline.WriteAsync(PipelineHarness.Create("l1", "e1"), Ct);
        Assert.Equal(WriteStatus.Applied, retry.Status);
        Assert.False(retry.IsReplay);
        Assert.Single(h.Wal.Records);
    }

    [Fact]
    public async Task Conflicts_are_rejected_with_their_reason()
    {
        await using var h = new PipelineHarness();
        h.Pipeline.Start();
        await h.Pipeline.WriteAsync(PipelineHarness.Create("a", "e1"), Ct);
        var duplicate = await h.Pipeline.WriteAsync(PipelineHarness.Create("b", "e1"), Ct);
        var missing = await h.Pipeline.WriteAsync(PipelineHarness.Create("c", "nope") with { Operation = WalOperation.Update }, Ct);
        var stale = await h.Pipeline.WriteAsync(PipelineHarness.Create("d", "e1") with { Operation = WalOperation.Update, ExpectedLsn = new Lsn(99) }, Ct);

        Assert.Equal((WriteStatus.Rejected, RejectReason.AlreadyExists), (duplicate.Status, duplicate.RejectReason));
        Assert.Equal((WriteStatus.Rejected, RejectReason.NotFound), (missing.Status, missing.RejectReason));
        Assert.Equal((WriteStatus.Rejected, RejectReason.PreconditionFailed), (stale.Status, stale.RejectReason));
        Assert.Single(h.Audit.Entries);
    }

    [Fact]
    public async Task Database_down_answers_pending_with_the_lsn_and_applies_when_it_is_back()
    {
        await using var h = new PipelineHarness();
        h.Pipeline.Start();
        h.Db.Unavailable = true;
        var outcome = await h.Pipeline.WriteAsync(PipelineHarness.Create("p1", "e1"), Ct);

        Assert.Equal(WriteStatus.Pending, outcome.Status);
        Assert.Equal(new Lsn(1), outcome.Lsn);
        Assert.Contains("durable", outcome.Detail, StringComparison.Ordinal);
        Assert.Null(await h.Db.GetAsync("Item", "e1", Ct));

        h.Db.Unavailable = false;
        await WaitUntil(() => h.Coordinator.Audited == new Lsn(1));
        Assert.NotNull(await h.Db.GetAsync("Item", "e1", Ct));
        Assert.Single(h.Audit.Entries);
        var retry = await h.Pipeline.WriteAsync(PipelineHarness.Create("p1", "e1"), Ct);
        Assert.Equal(WriteStatus.Applied, retry.Status);
        Assert.Single(h.Wal.Records);
    }

    [Fact]
    public async Task Audit_failure_never_fails_the_write_warns_and_is_backfilled_without_duplicates()
    {
        await using var h = new PipelineHarness();
        h.Pipeline.Start();
        await h.Pipeline.WriteAsync(PipelineHarness.Create("ok", "e0"), Ct);
        h.Audit.Unwritable = true;
        var outcomes = await Task.WhenAll(Enumerable.Range(1, 20).Select(i => h.Pipeline.WriteAsync(PipelineHarness.Create("r" + i, "e" + i), Ct)));

        Assert.All(outcomes, o => Assert.Equal(WriteStatus.Applied, o.Status));
        var warnings = h.AuditLogger.Collector.GetSnapshot().Where(r => r.Level == LogLevel.Warning).ToList();
        Assert.Equal(20, warnings.Count);
        Assert.All(warnings, w => Assert.Contains("Item", w.Message, StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.Message.Contains("requestId r7", StringComparison.Ordinal) && w.Message.Contains("e7", StringComparison.Ordinal));
        Assert.True(h.Coordinator.HasGap);
        Assert.Equal(new Lsn(1), h.Coordinator.Audited);

        h.Audit.Unwritable = false;
        var backfilled = await h.Coordinator.BackfillAsync(null, null, Ct);

        Assert.Equal(20, backfilled);
        Assert.False(h.Coordinator.HasGap);
        Assert.Equal(21, h.Audit.Entries.Select(e => e.Id).Distinct().Count());
        Assert.Equal(21, h.Audit.Entries.Count);
        Assert.Equal(new Lsn(21), h.Coordinator.Audited);
        Assert.Equal(0, await h.Coordinator.BackfillAsync(null, null, Ct));
    }

    [Fact]
    public async Task A_system_entry_the_audit_store_refuses_is_parked_on_disk_and_stored_by_the_next_backfill()
    {
        var dir = Path.Combine(Path.GetTempPath(), "nv-parked-" + Guid.NewGuid().ToString("N"));
        try
        {
            var pending = new Nv.Audit.Outbox.PendingAuditEntries(dir);
            await using var h = new PipelineHarness(pending: pending);
            h.Audit.Unwritable = true;
            var started = Nv.Audit.AuditEntryFactory.ServiceStarted("svc");
            await h.Coordinator.RecordSystemAsync(started, Ct);

            Assert.Empty(h.Audit.Entries);
            Assert.Equal(1, pending.Count);
            Assert.True(h.Coordinator.HasParked);
            Assert.Equal(-1, await h.Coordinator.BackfillAsync(null, null, Ct)); // still down: kept for later
            Assert.Equal(1, pending.Count);

            h.Audit.Unwritable = false;
            Assert.Equal(1, await h.Coordinator.BackfillAsync(null, null, Ct));

            Assert.Equal(started.Id, Assert.Single(h.Audit.Entries).Id);
            Assert.Equal(0, pending.Count);
            Assert.False(h.Coordinator.HasParked);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_system_entry_that_can_be_neither_stored_nor_parked_is_reported_lost_and_nothing_throws()
    {
        var notADirectory = Path.GetTempFileName(); // parking under a regular file fails with an I/O error
        try
        {
            await using var h = new PipelineHarness(pending: new Nv.Audit.Outbox.PendingAuditEntries(notADirectory));
            h.Audit.Unwritable = true;
            var stopped = Nv.Audit.AuditEntryFactory.ServiceStopped("svc");

            await h.Coordinator.RecordSystemAsync(stopped, Ct);

            var lost = Assert.Single(h.AuditLogger.Collector.GetSnapshot(), r => r.Level == LogLevel.Error);
            Assert.Contains(stopped.Id.ToString(), lost.Message, StringComparison.Ordinal);
            Assert.Contains("is lost", lost.Message, StringComparison.Ordinal);
            Assert.NotNull(lost.Exception);
        }
        finally
        {
            File.Delete(notADirectory);
        }
    }

    [Fact]
    public async Task Wal_failure_fails_the_batch_and_every_later_write()
    {
        await using var h = new PipelineHarness();
        h.Pipeline.Start();
        h.Wal.FailNextFlush = new IOException("EIO");
        await Assert.ThrowsAsync<WalFaultedException>(() => h.Pipeline.WriteAsync(PipelineHarness.Create("f1", "e1"), Ct));
        await Assert.ThrowsAsync<WalFaultedException>(() => h.Pipeline.WriteAsync(PipelineHarness.Create("f2", "e2"), Ct));

        Assert.False(h.Pipeline.IsReady);
        Assert.Equal(0, h.Db.ApplyCalls);
        // No entry of a write; only the fault itself, as a system-events entry (written off the failing stage's path).
        await h.Coordinator.DrainSystemEntriesAsync(TimeSpan.FromSeconds(30));
        var entry = Assert.Single(h.Audit.Entries);
        Assert.Equal((AuditCategory.SystemEvents, "wal-faulted", "wal"), (entry.Category, entry.Operation, entry.EntityId));
    }

    [Fact]
    public async Task Invalid_requests_write_nothing()
    {
        await using var h = new PipelineHarness();
        h.Pipeline.Start();
        var bad = PipelineHarness.Create("x", "e1") with { Payload = JsonSerializer.SerializeToElement(new Dictionary<string, int> { ["$set"] = 1 }) };
        await Assert.ThrowsAsync<WriteValidationException>(() => h.Pipeline.WriteAsync(bad, Ct));
        Assert.Empty(h.Wal.Records);

        // The refused request id was never taken: a corrected retry is a fresh write.
        var fixedUp = await h.Pipeline.WriteAsync(PipelineHarness.Create("x", "e1"), Ct);
        Assert.Equal(WriteStatus.Applied, fixedUp.Status);
    }

    [Fact]
    public async Task Writes_before_start_are_refused()
    {
        await using var h = new PipelineHarness();
        var refused = await Assert.ThrowsAsync<PipelineUnavailableException>(() => h.Pipeline.WriteAsync(PipelineHarness.Create("early", "e1"), Ct));
        Assert.Null(refused.DurableLsn);
        Assert.Empty(h.Wal.Records);
    }

    internal static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached within 10 s");
            await Task.Delay(10);
        }
    }
}
