using System.Text.Json;
using Nv.Audit;
using Nv.DbWriter;
using Nv.Host.Pipeline;
using Nv.Unit.Tests.Support;
using Nv.Wal;

namespace Nv.Unit.Tests.Pipeline;

/// <summary>Atomic multi-entity writes through the pipeline: one WAL record, all items or none, one audit entry per item
/// sharing the request id, retries, patches, limits, replay and the audit backfill.</summary>
public sealed class BatchPipelineTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();

    private static BatchItem Create(string id, string json, string dtoType = "Order", int? version = null) =>
        new() { Operation = BatchOperation.Create, DtoType = dtoType, EntityId = id, Payload = Json(json), Version = version };

    private static BatchItem Update(string id, string json, Lsn? ifMatch = null, string dtoType = "Order") =>
        new() { Operation = BatchOperation.Update, DtoType = dtoType, EntityId = id, Payload = Json(json), ExpectedLsn = ifMatch };

    private static BatchRequest Batch(string requestId, params BatchItem[] items) =>
        new() { RequestId = requestId, Items = items, UserId = "u1", Reason = "checkout", Metadata = new Dictionary<string, string> { ["ticket"] = "T-1" } };

    private static async Task<PipelineHarness> StartedAsync(AckLevel ack = AckLevel.Audited, InMemoryDbWriter? db = null,
        InMemoryAuditSink? audit = null, Action<PipelineOptions>? configure = null)
    {
        var h = new PipelineHarness(db: db, audit: audit, ack: ack, configure: configure);
        h.Pipeline.Start();
        await Task.CompletedTask;
        return h;
    }

    [Fact]
    public async Task A_batch_is_one_wal_record_applied_whole_with_one_audit_entry_per_item_sharing_the_request_id()
    {
        await using var h = await StartedAsync();
        await h.Pipeline.WriteAsync(PipelineHarness.Create("seed", "s-9") with { DtoType = "Stock" }, Ct);

        var outcome = await h.Pipeline.WriteBatchAsync(Batch("b1",
            Create("o-1", """{"total":10}""", version: 2),
            Update("s-9", """{"n":4}""", ifMatch: new Lsn(1), dtoType: "Stock"),
            Create("s-10", "{}", dtoType: "Stock")), Ct);

        Assert.Equal((WriteStatus.Applied, new Lsn(2), (int?)null), (outcome.Status, outcome.Lsn, outcome.FailedItem));
        Assert.All(outcome.Items, i => Assert.Equal((BatchItemStatus.Applied, new Lsn(2)), (i.Status, i.Lsn)));
        Assert.Equal([0, 1, 2], outcome.Items.Select(i => i.Index));

        var record = h.Wal.Records[^1];
        Assert.Equal(2, h.Wal.Records.Count);
        Assert.Equal((WalOperation.Batch, "b1", 3), (record.Operation, record.RequestId, record.Items!.Count));
        Assert.Equal("test:svc:2:Order:o-1", record.Items[0].ReplayKey);

        var order = await h.Db.GetAsync("Order", "o-1", Ct);
        Assert.Equal((new Lsn(2), 2), (order!.Lsn, order.DtoVersion));
        Assert.Equal(new Lsn(2), (await h.Db.GetAsync("Stock", "s-9", Ct))!.Lsn);

        var entries = h.Audit.Entries.Where(e => e.RequestId == "b1").ToList();
        Assert.Equal(record.Items.Select(i => i.Id), entries.Select(e => e.Id));
        Assert.All(entries, e => Assert.Equal((new Lsn(2), "u1", "checkout", "T-1"), (e.Lsn!.Value, e.UserId!, e.Reason!, e.Metadata["ticket"])));
        Assert.Equal(["2", "1", "1"], entries.Select(e => e.Metadata[AuditEntryFactory.DtoVersionKey]));
        Assert.Equal(["create", "update", "create"], entries.Select(e => e.Operation));
        Assert.Equal(1, entries[1].Before!.Value.GetProperty("n").GetInt32());
    }

    [Theory]
    [InlineData("already-exists", RejectReason.AlreadyExists)]
    [InlineData("not-found", RejectReason.NotFound)]
    [InlineData("precondition", RejectReason.PreconditionFailed)]
    public async Task Any_failed_item_rejects_the_whole_batch_names_it_and_writes_nothing(string failure, RejectReason reason)
    {
        await using var h = await StartedAsync();
        await h.Pipeline.WriteAsync(PipelineHarness.Create("seed", "taken") with { DtoType = "Order" }, Ct);
        var failing = failure switch
        {
            "already-exists" => Create("taken", "{}"),
            "not-found" => Update("missing", "{}"),
            _ => Update("taken", "{}", ifMatch: new Lsn(99)),
        };

        var outcome = await h.Pipeline.WriteBatchAsync(Batch("b1", Create("new-1", "{}"), failing, Create("new-2", "{}")), Ct);

        Assert.Equal((WriteStatus.Rejected, reason, (int?)1, new Lsn(2)), (outcome.Status, outcome.RejectReason, outcome.FailedItem, outcome.Lsn));
        Assert.Equal([BatchItemStatus.NotApplied, BatchItemStatus.Rejected, BatchItemStatus.NotApplied], outcome.Items.Select(i => i.Status));
        Assert.Contains("batch item 1", outcome.Detail!, StringComparison.Ordinal);
        Assert.Null(await h.Db.GetAsync("Order", "new-1", Ct));
        Assert.Null(await h.Db.GetAsync("Order", "new-2", Ct));
        Assert.DoesNotContain(h.Audit.Entries, e => e.RequestId == "b1");
    }

    [Fact]
    public async Task A_store_failure_while_answering_a_retried_rejected_batch_answers_without_its_failed_item_instead_of_faulting()
    {
        // The failed item of a rejected batch whose outcome was stored without it (before the stores kept it) is read from
        // its stored resolution; that second read failing used to escape the commit stage, which faulted the pipeline as a
        // WAL failure and left the batch's other callers unanswered.
        var wal = new InMemoryWal();
        var db = new InMemoryDbWriter { OutcomesWithoutAnswers = true };
        await using (var before = new PipelineHarness(wal, db))
        {
            before.Pipeline.Start();
            await before.Pipeline.WriteBatchAsync(Batch("b1", Create("a", "{}")), Ct);
            Assert.Equal(1, (await before.Pipeline.WriteBatchAsync(Batch("b2", Create("b", "{}"), Create("a", "{}")), Ct)).FailedItem);
        }

        await using var after = new PipelineHarness(wal, db);
        after.Pipeline.Start();
        db.ResolutionsFailure = new DbWriterException("connection reset", isTransient: true);
        var again = await after.Pipeline.WriteBatchAsync(Batch("b2", Create("b", "{}"), Create("a", "{}")), Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct);

        Assert.Equal((WriteStatus.Rejected, RejectReason.AlreadyExists, true), (again.Status, again.RejectReason, again.IsReplay));
        Assert.Null(again.FailedItem); // unknown for now: the answer says so rather than failing
        Assert.Null(after.Pipeline.Fault);
        Assert.True(after.Pipeline.IsReady);
        db.ResolutionsFailure = null;
        Assert.Equal(WriteStatus.Applied, (await after.Pipeline.WriteBatchAsync(Batch("b3", Create("c", "{}")), Ct)).Status);
        Assert.Equal(3, wal.Records.Count);
    }

    [Fact]
    public async Task A_retried_rejected_batch_names_its_failed_item_after_its_resolution_was_purged()
    {
        // The failed item was kept only in the record's resolution, purged once the WAL no longer holds the record: a retry
        // after that was told the item was no longer known. The request outcome keeps it now.
        var wal = new InMemoryWal();
        var db = new InMemoryDbWriter();
        await using (var before = new PipelineHarness(wal, db))
        {
            before.Pipeline.Start();
            await before.Pipeline.WriteBatchAsync(Batch("b1", Create("a", "{}")), Ct);
            Assert.Equal(1, (await before.Pipeline.WriteBatchAsync(Batch("b2", Create("b", "{}"), Create("a", "{}")), Ct)).FailedItem);
        }

        db.PurgeAllResolutions();
        await using var after = new PipelineHarness(wal, db);
        after.Pipeline.Start();
        var again = await after.Pipeline.WriteBatchAsync(Batch("b2", Create("b", "{}"), Create("a", "{}")), Ct);

        Assert.Equal((WriteStatus.Rejected, RejectReason.AlreadyExists, (int?)1, true), (again.Status, again.RejectReason, again.FailedItem, again.IsReplay));
        Assert.Contains("item 1", again.Detail, StringComparison.Ordinal);
        Assert.Equal(1, (await after.Pipeline.GetOutcomeAsync("b2", "u1", Ct))!.FailedItem);
        Assert.Equal(2, wal.Records.Count);
    }

    // A batch whose patch refuses it (a missing entity here) while its request id is known is built as a retry: its refusal
    // is left for the first attempt's outcome, the patch kept unmerged. If that first attempt leaves without a trace while
    // the batch is still being built (refused before the WAL: a failed lookup here), the batch must not be appended as
    // built (its preconditions dropped): it gets its own refusal. Found by a read-only review.
    [Fact]
    public async Task A_batch_built_as_a_retry_of_an_attempt_that_then_left_without_a_trace_gets_its_own_refusal_and_writes_nothing()
    {
        await using var h = await StartedAsync(ack: AckLevel.Applied);
        await h.Pipeline.WriteBatchAsync(Batch("seed", Create("b", "{}")), Ct);
        var records = h.Wal.Records.Count;
        var lookup = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var read = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Db.LookupGate = lookup.Task;
        h.Db.ReadGate = read.Task;
        h.Db.ReadGateEntity = "b";
        Task<BatchOutcome> first, second;
        try
        {
            first = h.Pipeline.WriteBatchAsync(Batch("k", Create("c", "{}")), Ct); // owns k, held at the commit stage's lookup
            Assert.True(h.Pipeline.TryGetRemembered(new RequestKey("u1", "k"), out _));
            second = h.Pipeline.WriteBatchAsync(Batch("k",
                new BatchItem { Operation = BatchOperation.Patch, DtoType = "Order", EntityId = "nope", Payload = Json("""{"x":1}""") },
                new BatchItem { Operation = BatchOperation.Patch, DtoType = "Order", EntityId = "b", Payload = Json("""{"x":2}""") }), Ct);
            await Task.Delay(50, Ct); // k known: item 0's refusal left to the first attempt; item 1's read held
            h.Db.LookupFailure = new DbWriterException("connection reset", isTransient: true);
            lookup.SetResult();
            await Assert.ThrowsAsync<DbWriterException>(() => first); // the first attempt leaves: refused before the WAL
            h.Db.LookupFailure = null;
        }
        finally
        {
            lookup.TrySetResult();
            read.SetResult();
        }

        var outcome = await second;
        Assert.Equal((WriteStatus.Rejected, RejectReason.NotFound, (int?)0, Lsn.None), (outcome.Status, outcome.RejectReason, outcome.FailedItem, outcome.Lsn));
        Assert.Equal(records, h.Wal.Records.Count);
    }

    // The same body sent again while a batch built as a retry owns the id: if the entity its patch missed exists by now,
    // the new one is no retry-only batch, and the owner's refusal as an unknown retry is not its answer (it used to reach
    // the caller as an unhandled exception: HTTP 500). It takes the id over and is applied. Found by a read-only review.
    [Fact]
    public async Task A_resend_behind_a_batch_built_as_a_retry_that_is_then_refused_is_applied_on_its_own()
    {
        await using var h = await StartedAsync(ack: AckLevel.Applied);
        await h.Pipeline.WriteBatchAsync(Batch("seed", Create("b", "{}")), Ct);
        var lookup = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var read = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var body = new[]
        {
            new BatchItem { Operation = BatchOperation.Patch, DtoType = "Order", EntityId = "n", Payload = Json("""{"x":1}""") },
            new BatchItem { Operation = BatchOperation.Patch, DtoType = "Order", EntityId = "b", Payload = Json("""{"x":2}""") },
        };
        Task<BatchOutcome> retryOnly, resend;
        try
        {
            h.Db.LookupGate = lookup.Task;
            h.Db.ReadGate = read.Task;
            h.Db.ReadGateEntity = "b";
            var first = h.Pipeline.WriteBatchAsync(Batch("k", Create("c", "{}")), Ct); // owns k at the commit stage's lookup
            retryOnly = h.Pipeline.WriteBatchAsync(Batch("k", body), Ct); // n missing, k known: built as a retry; held at b
            await Task.Delay(50, Ct);
            h.Db.LookupFailure = new DbWriterException("connection reset", isTransient: true);
            lookup.SetResult();
            await Assert.ThrowsAsync<DbWriterException>(() => first);
            h.Db.LookupFailure = null;
            h.Db.LookupGate = null;
            await h.Pipeline.WriteBatchAsync(Batch("make-n", Create("n", "{}")), Ct);
            h.Db.LookupGate = hold.Task;
            read.SetResult(); // the retry-only batch goes on: owns k, held at the lookup
            await WritePipelineTests.WaitUntil(() => h.Pipeline.TryGetRemembered(new RequestKey("u1", "k"), out var o) && o.Items?.Count == 2);
            resend = h.Pipeline.WriteBatchAsync(Batch("k", body), Ct); // n exists now: no refusal, no retry-only batch
            await Task.Delay(50, Ct);
        }
        finally
        {
            lookup.TrySetResult();
            read.TrySetResult();
            hold.SetResult();
        }

        var own = await retryOnly;
        Assert.Equal((WriteStatus.Rejected, RejectReason.NotFound, (int?)0, Lsn.None), (own.Status, own.RejectReason, own.FailedItem, own.Lsn));
        var applied = await resend.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Equal((WriteStatus.Applied, false), (applied.Status, applied.IsReplay));
        Assert.Single(h.Wal.Records, r => r.RequestId == "k");
    }

    [Fact]
    public async Task A_retried_batch_returns_its_first_outcome_and_writes_nothing_also_after_a_restart()
    {
        var wal = new InMemoryWal();
        var db = new InMemoryDbWriter();
        await using (var before = new PipelineHarness(wal, db))
        {
            before.Pipeline.Start();
            var first = await before.Pipeline.WriteBatchAsync(Batch("b1", Create("a", "{}"), Create("a2", "{}")), Ct);
            var retry = await before.Pipeline.WriteBatchAsync(Batch("b1", Create("a", "{}"), Create("a2", "{}")), Ct);
            Assert.Equal((first.Lsn, WriteStatus.Applied, true), (retry.Lsn, retry.Status, retry.IsReplay));
            // The same id on a different batch is refused, as for a single write (nothing written).
            await Assert.ThrowsAsync<IdempotencyKeyReusedException>(() =>
                before.Pipeline.WriteBatchAsync(Batch("b1", Create("a", """{"x":1}"""), Create("a2", "{}")), Ct));
            var rejected = await before.Pipeline.WriteBatchAsync(Batch("b2", Create("b", "{}"), Create("a", "{}")), Ct);
            Assert.Equal(1, rejected.FailedItem);
        }

        await using var after = new PipelineHarness(wal, db);
        after.Pipeline.Start();
        var again = await after.Pipeline.WriteBatchAsync(Batch("b2", Create("b", "{}"), Create("a", "{}")), Ct);
        Assert.Equal((WriteStatus.Rejected, RejectReason.AlreadyExists, (int?)1, true), (again.Status, again.RejectReason, again.FailedItem, again.IsReplay));
        Assert.Equal(BatchItemStatus.Rejected, again.Items[1].Status);
        Assert.Equal(2, wal.Records.Count);
        Assert.Equal(1, (await after.Pipeline.GetOutcomeAsync("b2", "u1", Ct))!.FailedItem);
    }

    [Fact]
    public async Task A_patch_item_merges_the_current_state_under_a_guard_and_keeps_its_dto_version()
    {
        await using var h = await StartedAsync();
        await h.Pipeline.WriteAsync(PipelineHarness.Create("seed", "o-1") with
        {
            DtoType = "Order", Payload = Json("""{"status":"new","total":10}"""), Version = 3,
        }, Ct);

        var outcome = await h.Pipeline.WriteBatchAsync(Batch("b1",
            new BatchItem { Operation = BatchOperation.Patch, DtoType = "Order", EntityId = "o-1", Payload = Json("""{"status":"paid","total":null}""") },
            Create("o-2", "{}")), Ct);

        Assert.Equal(WriteStatus.Applied, outcome.Status);
        var stored = await h.Db.GetAsync("Order", "o-1", Ct);
        Assert.True(JsonElement.DeepEquals(Json("""{"status":"paid"}"""), stored!.Document));
        Assert.Equal(3, stored.DtoVersion);
        var item = h.Wal.Records[^1].Items![0];
        Assert.Equal((WalOperation.Update, new Lsn(1)), (item.Operation, item.ExpectedLsn));
    }

    [Fact]
    public async Task A_patch_of_a_missing_entity_or_a_stale_if_match_refuses_the_batch_before_the_wal()
    {
        await using var h = await StartedAsync();
        await h.Pipeline.WriteAsync(PipelineHarness.Create("seed", "o-1") with { DtoType = "Order" }, Ct);

        var missing = await h.Pipeline.WriteBatchAsync(Batch("b1", Create("x", "{}"),
            new BatchItem { Operation = BatchOperation.Patch, DtoType = "Order", EntityId = "nope", Payload = Json("{}") }), Ct);
        Assert.Equal((WriteStatus.Rejected, RejectReason.NotFound, (int?)1, Lsn.None), (missing.Status, missing.RejectReason, missing.FailedItem, missing.Lsn));

        var stale = await h.Pipeline.WriteBatchAsync(Batch("b2",
            new BatchItem { Operation = BatchOperation.Patch, DtoType = "Order", EntityId = "o-1", Payload = Json("{}"), ExpectedLsn = new Lsn(7) }), Ct);
        Assert.Equal((RejectReason.PreconditionFailed, (int?)0), (stale.RejectReason, stale.FailedItem));
        Assert.Single(h.Wal.Records);
    }

    [Fact]
    public async Task Invalid_or_oversized_batches_are_refused_naming_the_field_and_nothing_is_written()
    {
        await using var h = await StartedAsync(configure: o => { o.MaxBatchItems = 3; o.MaxBatchBytes = 4096; });

        var duplicate = await Assert.ThrowsAsync<WriteValidationException>(() => h.Pipeline.WriteBatchAsync(Batch("b1", Create("a", "{}"), Update("a", "{}")), Ct));
        Assert.Equal("items/1/entityId", duplicate.Field);
        var badType = await Assert.ThrowsAsync<WriteValidationException>(() => h.Pipeline.WriteBatchAsync(Batch("b2", Create("a", "{}"), Create("b", "{}", dtoType: "no way")), Ct));
        Assert.Equal("items/1/dtoType", badType.Field);
        var badKey = await Assert.ThrowsAsync<WriteValidationException>(() => h.Pipeline.WriteBatchAsync(Batch("b3", Create("a", """{"$where":1}""")), Ct));
        Assert.StartsWith("items/0/payload", badKey.Field, StringComparison.Ordinal);
        Assert.False((await Assert.ThrowsAsync<WriteValidationException>(() => h.Pipeline.WriteBatchAsync(Batch("b4"), Ct))).IsTooLarge);

        var tooMany = await Assert.ThrowsAsync<WriteValidationException>(() =>
            h.Pipeline.WriteBatchAsync(Batch("b5", Create("a", "{}"), Create("b", "{}"), Create("c", "{}"), Create("d", "{}")), Ct));
        Assert.True(tooMany.IsTooLarge);
        var big = $$"""{"pad":"{{new string('x', 3000)}}"}""";
        var tooBig = await Assert.ThrowsAsync<WriteValidationException>(() => h.Pipeline.WriteBatchAsync(Batch("b6", Create("a", big), Create("b", big)), Ct));
        Assert.True(tooBig.IsTooLarge);

        var single = await Assert.ThrowsAsync<WriteValidationException>(() => h.Pipeline.WriteAsync(PipelineHarness.Create("s", "e") with { Operation = WalOperation.Batch }, Ct));
        Assert.Equal("operation", single.Field);
        Assert.Empty(h.Wal.Records);
    }

    [Fact]
    public async Task The_size_limit_is_the_wal_records_exact_size()
    {
        var options = new PipelineOptions { Environment = "test", Service = "svc" };
        var request = Batch("b1", Create("o-1", """{"total":10}"""), Update("s-9", """{"n":4}""", ifMatch: new Lsn(3), dtoType: "Stock"));
        var items = request.Items.Select((i, n) => new WalBatchItem
        {
            Id = Guid.CreateVersion7(),
            Operation = n == 0 ? WalOperation.Create : WalOperation.Update,
            Version = 1,
            DtoType = i.DtoType,
            EntityId = i.EntityId,
            Payload = i.Payload!.Value,
            ReplayKey = ReplayKey.Create("test", "svc", 1, i.DtoType, i.EntityId),
            ExpectedLsn = i.ExpectedLsn,
        }).ToList();
        var record = new WalRecord
        {
            Id = Guid.CreateVersion7(), Service = "svc", Version = 0, Timestamp = DateTimeOffset.UtcNow, Operation = WalOperation.Batch,
            DtoType = "", EntityId = "", Payload = default, ReplayKey = "", RequestId = "b1", UserId = "u1", Reason = "checkout",
            Metadata = request.Metadata!, Items = items, Fingerprint = new string('a', 64), // the pipeline writes every batch with it
        };

        await using var wal = Nv.Wal.WriteAheadLog.CreateInMemory(new WalOptions { MaxRecordBytes = (int)BatchValidator.EstimateBytes(request, items, options) });
        Assert.Equal(WalOperation.Batch, (await wal.AppendAsync(record, Ct)).Operation);
        await using var smaller = Nv.Wal.WriteAheadLog.CreateInMemory(new WalOptions { MaxRecordBytes = (int)BatchValidator.EstimateBytes(request, items, options) - 1 });
        // A refusal of that record only (WalRecordTooLargeException), never a log failure: the log stays open.
        var refused = await Assert.ThrowsAsync<WalRecordTooLargeException>(async () => await smaller.AppendAsync(record, Ct));
        Assert.Equal((BatchValidator.EstimateBytes(request, items, options), BatchValidator.EstimateBytes(request, items, options) - 1),
            (refused.SizeBytes, refused.MaxBytes));
        Assert.Equal(WalState.Open, smaller.State);
    }

    [Fact]
    public async Task A_store_that_cannot_apply_batches_atomically_refuses_them_before_anything_is_written()
    {
        var db = new InMemoryDbWriter { BatchesUnsupported = "MongoDB at db:27017 is a standalone server" };
        await using var h = await StartedAsync(db: db);
        var error = await Assert.ThrowsAsync<BatchesNotSupportedException>(() => h.Pipeline.WriteBatchAsync(Batch("b1", Create("a", "{}")), Ct));
        Assert.Contains("standalone", error.Message, StringComparison.Ordinal);
        Assert.Empty(h.Wal.Records);
    }

    [Fact]
    public async Task Boot_replay_applies_a_durable_batch_whole_and_audits_every_item()
    {
        await using var h = new PipelineHarness();
        var record = await h.Wal.AppendAsync(Nv.Unit.Tests.Wal.WalBatchRecordCodecTests.Batch(3) with { Service = "svc", Lsn = Lsn.None }, Ct);
        await h.Wal.FlushAsync(record.Lsn, Ct);

        var summary = await h.Replayer.RunAsync(dryRun: false, progress: null, maxTransientRetries: 0, Ct);

        Assert.Equal((0L, 1L), (summary.Replayed, summary.Rejected));
        var items = record.Items!;
        foreach (var item in items.Where(i => i.Operation != WalOperation.Delete))
        {
            // Items 0 and 1 create and update entities that did not exist: the update (item 1) rejects the batch.
            Assert.Null(await h.Db.GetAsync(item.DtoType, item.EntityId, Ct));
        }

        Assert.Equal(ApplyStatus.Rejected, Assert.Single(await h.Db.GetResolutionsAsync(Lsn.None, 10, Ct)).Status);
        Assert.Empty(h.Audit.Entries);

        var good = await h.Wal.AppendAsync(Nv.Unit.Tests.Wal.WalBatchRecordCodecTests.Batch(1) with { Service = "svc", Lsn = Lsn.None }, Ct);
        await h.Wal.FlushAsync(good.Lsn, Ct);
        var second = await h.Replayer.RunAsync(dryRun: false, progress: null, maxTransientRetries: 0, Ct);
        Assert.Equal(1, second.Replayed);
        Assert.NotNull(await h.Db.GetAsync(good.Items![0].DtoType, good.Items[0].EntityId, Ct));
        Assert.Equal(good.Items[0].Id, Assert.Single(h.Audit.Entries).Id);
    }

    [Fact]
    public async Task After_an_audit_outage_the_backfill_writes_every_items_entry_with_its_before_image()
    {
        var audit = new InMemoryAuditSink();
        await using var h = await StartedAsync(ack: AckLevel.Applied, audit: audit);
        await h.Pipeline.WriteAsync(PipelineHarness.Create("seed", "a") with { DtoType = "Order", Payload = Json("""{"v":1}""") }, Ct);
        await WaitUntil(() => audit.Entries.Count == 1);

        audit.Unwritable = true;
        var outcome = await h.Pipeline.WriteBatchAsync(Batch("b1", Update("a", """{"v":2}"""), Create("b", """{"w":1}""")), Ct);
        Assert.Equal(WriteStatus.Applied, outcome.Status);
        await WaitUntil(() => h.Coordinator.HasGap);
        Assert.Single(audit.Entries);

        audit.Unwritable = false;
        Assert.Equal(2, await h.Coordinator.BackfillAsync(null, null, Ct));
        var entries = audit.Entries.Where(e => e.RequestId == "b1").ToList();
        Assert.Equal(h.Wal.Records[^1].Items!.Select(i => i.Id), entries.Select(e => e.Id));
        Assert.Equal(1, entries[0].Before!.Value.GetProperty("v").GetInt32());
        Assert.Null(entries[1].Before);
    }

    [Fact]
    public async Task A_batch_answered_durable_is_accepted_and_its_outcome_is_read_by_request_id()
    {
        await using var h = await StartedAsync(ack: AckLevel.Durable);
        var outcome = await h.Pipeline.WriteBatchAsync(Batch("b1", Create("a", "{}"), Create("b", "{}")), Ct);
        Assert.Equal(WriteStatus.Accepted, outcome.Status);
        Assert.All(outcome.Items, i => Assert.Equal(BatchItemStatus.Accepted, i.Status));
        await WaitUntil(() => h.Pipeline.Positions.Applied >= outcome.Lsn);
        Assert.Equal(WriteStatus.Applied, (await h.Pipeline.GetOutcomeAsync("b1", "u1", Ct))!.Status);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 10 s");
            await Task.Delay(10, Ct);
        }
    }
}
