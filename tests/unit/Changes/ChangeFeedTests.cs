using System.Text.Json;
using Microsoft.Extensions.Logging.Testing;
using Nv.DbWriter;
using Nv.Host.Changes;
using Nv.Host.Pipeline;
using Nv.Unit.Tests.Pipeline;
using Nv.Unit.Tests.Support;
using Nv.Wal;

namespace Nv.Unit.Tests.Changes;

/// <summary>The change feed over the pipeline: applied changes only, in LSN and item order, exactly once from any resume
/// point, filtered by type, following new writes without holding writers back, and "gone" past WAL truncation.</summary>
public sealed class ChangeFeedTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();

    // A create of dtoType/prefix+i, as the WAL would hold it (sealed under keyId when given).
    private static WalRecord CreateRecord(int i, string dtoType = "Order", Guid? keyId = null) => new()
    {
        Id = Guid.CreateVersion7(), Service = "svc", Version = 1, Timestamp = DateTimeOffset.UtcNow, Operation = WalOperation.Create,
        DtoType = dtoType, EntityId = "o" + i, Payload = Json("""{"name":"secret"}"""), ReplayKey = $"test:svc:1:{dtoType}:o{i}", RequestId = "r" + i,
        PayloadKeyId = keyId, Subject = keyId is null ? null : $"{dtoType}/o{i}",
    };

    private static ChangeFeed Feed(PipelineHarness h) => new(h.Wal, h.Db, h.Pipeline.Positions, new FakeLogger<ChangeFeed>());

    private static async Task<List<ChangeEvent>> ReadAll(ChangeFeed feed, ChangePosition from, string? dtoType = null)
    {
        var list = new List<ChangeEvent>();
        await foreach (var change in feed.ReadAsync(from, new ChangeFeedOptions { DtoType = dtoType, Follow = false }, Ct))
        {
            list.Add(change);
        }

        return list;
    }

    private static async Task WriteMixAsync(PipelineHarness h)
    {
        await h.Pipeline.WriteAsync(PipelineHarness.Create("r1", "a") with { DtoType = "Order", Payload = Json("""{"v":1}""") }, Ct);       // 1 applied
        await h.Pipeline.WriteAsync(PipelineHarness.Create("r2", "a") with { DtoType = "Order" }, Ct);                                          // 2 rejected
        await h.Pipeline.WriteBatchAsync(new BatchRequest
        {
            RequestId = "b3",
            Items =
            [
                new BatchItem { Operation = BatchOperation.Update, DtoType = "Order", EntityId = "a", Payload = Json("""{"v":2}"""), Version = 2 },
                new BatchItem { Operation = BatchOperation.Create, DtoType = "Stock", EntityId = "s", Payload = Json("""{"q":1}""") },
            ],
        }, Ct);                                                                                                                                  // 3 applied (2 items)
        await h.Pipeline.WriteAsync(new WriteRequest { RequestId = "r4", Operation = WalOperation.Delete, DtoType = "Stock", EntityId = "s" }, Ct); // 4 applied
        await h.Pipeline.WriteBatchAsync(new BatchRequest
        {
            RequestId = "b5",
            Items = [new BatchItem { Operation = BatchOperation.Create, DtoType = "Order", EntityId = "a", Payload = Json("{}") }],
        }, Ct);                                                                                                                                  // 5 rejected
    }

    [Fact]
    public async Task The_feed_has_every_applied_change_in_lsn_and_item_order_and_nothing_rejected()
    {
        await using var h = new PipelineHarness();
        h.Pipeline.Start();
        await WriteMixAsync(h);

        var changes = await ReadAll(Feed(h), ChangePosition.At(Lsn.None));

        Assert.Equal(["1", "3.0", "3", "4"], changes.Select(c => c.Id)); // a batch's last item: "LSN 3 fully consumed"
        Assert.Equal([false, true, true, false], changes.Select(c => c.IsBatchItem));
        Assert.Equal([0, 0, 1, 0], changes.Select(c => c.Position.Item));
        Assert.Equal(["create", "update", "create", "delete"], changes.Select(c => c.Operation));
        Assert.Equal(["r1", "b3", "b3", "r4"], changes.Select(c => c.RequestId));
        Assert.Equal([1, 2, 1, 1], changes.Select(c => c.Version));
        Assert.Equal(2, changes[1].After!.Value.GetProperty("v").GetInt32());
        Assert.Null(changes[3].After);
        // Filtered, the batch's last item this consumer gets is item 0 (the Stock item is not for it): it carries "3".
        Assert.Equal([("1", "Order"), ("3", "Order")], (await ReadAll(Feed(h), ChangePosition.At(Lsn.None), "Order")).Select(c => (c.Id, c.DtoType)));
    }

    [Fact]
    public async Task Resuming_after_any_event_id_gives_exactly_the_rest()
    {
        await using var h = new PipelineHarness();
        h.Pipeline.Start();
        await WriteMixAsync(h);
        var feed = Feed(h);
        var all = await ReadAll(feed, ChangePosition.At(new Lsn(1)));

        for (var i = 0; i < all.Count; i++)
        {
            Assert.True(ChangePosition.TryParseAfter(all[i].Id, out var next));
            Assert.Equal(all.Skip(i + 1).Select(c => c.Id), (await ReadAll(feed, next)).Select(c => c.Id));
        }

        Assert.Equal(["3.0", "3", "4"], (await ReadAll(feed, ChangePosition.At(new Lsn(2)))).Select(c => c.Id));
        Assert.True(ChangePosition.TryParseAfter("3.1", out var older)); // the id older builds gave the batch's last item
        Assert.Equal(["4"], (await ReadAll(feed, older)).Select(c => c.Id));
        Assert.False(ChangePosition.TryParseAfter("x", out _));
        Assert.False(ChangePosition.TryParseAfter("0", out _));
        Assert.False(ChangePosition.TryParseAfter("3.-1", out _));
    }

    [Fact]
    public async Task A_following_consumer_gets_new_changes_and_a_consumer_that_stops_reading_never_holds_writers()
    {
        await using var h = new PipelineHarness(ack: AckLevel.Applied);
        h.Pipeline.Start();
        var feed = Feed(h);
        await using var consumer = feed.ReadAsync(ChangePosition.At(new Lsn(1)), cancellationToken: Ct).GetAsyncEnumerator(Ct);
        var first = consumer.MoveNextAsync().AsTask();
        Assert.False(first.IsCompleted); // nothing applied yet: it waits

        await h.Pipeline.WriteAsync(PipelineHarness.Create("w0", "e0"), Ct);
        Assert.True(await first.WaitAsync(TimeSpan.FromSeconds(10), Ct));
        Assert.Equal("1", consumer.Current.Id);

        // The consumer now stops pulling; 300 writes still complete promptly.
        await Task.WhenAll(Enumerable.Range(1, 300).Select(i => h.Pipeline.WriteAsync(PipelineHarness.Create("w" + i, "e" + i), Ct)))
            .WaitAsync(TimeSpan.FromSeconds(30), Ct);

        var seen = new List<long>();
        while (seen.Count < 300 && await consumer.MoveNextAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10), Ct))
        {
            seen.Add(consumer.Current.Lsn.Value);
        }

        Assert.Equal(Enumerable.Range(2, 300).Select(i => (long)i), seen);
    }

    /// <summary>Custom audit events used to appear in the feed as "audit-event" changes, their contents opened, for anyone
    /// with the reader role (they belong to the audit trail, role auditor), and a consumer mirroring their dtoType took
    /// them for entity writes.</summary>
    [Fact]
    public async Task Custom_audit_events_are_not_changes()
    {
        await using var h = new PipelineHarness();
        h.Pipeline.Start();
        await h.Pipeline.WriteAsync(PipelineHarness.Create("r1", "a") with { DtoType = "Report" }, Ct);
        await h.Pipeline.RecordAsync(new AuditEventRequest
        {
            RequestId = "e2", Category = Nv.Audit.AuditCategory.SystemEvents, Operation = "report-exported", DtoType = "Report", EntityId = "a",
            After = Json("""{"rows":12}"""),
        }, Ct);
        await h.Pipeline.WriteAsync(PipelineHarness.Create("r3", "b") with { DtoType = "Report" }, Ct);

        var changes = await ReadAll(Feed(h), ChangePosition.At(Lsn.None));

        Assert.Equal([("1", "create", "a"), ("3", "create", "b")], changes.Select(c => (c.Id, c.Operation, c.EntityId)));
        Assert.Equal(["3"], (await ReadAll(Feed(h), ChangePosition.At(new Lsn(2)))).Select(c => c.Id));
    }

    /// <summary>A truncation between the feed's check and its read of the next page: the consumer hears "gone", as from
    /// the check. The WAL's read throws WalTruncatedException (the in-memory log threw ArgumentOutOfRangeException, the
    /// only one the feed caught, so on the FasterLog WAL the exception escaped the stream).</summary>
    [Fact]
    public async Task A_truncation_racing_a_following_consumer_is_gone()
    {
        await using var wal = WriteAheadLog.CreateInMemory();
        await using var db = DbWriters.CreateInMemory();
        var positions = new PipelinePositions();
        async Task WriteAsync(int i)
        {
            var record = await wal.AppendAsync(CreateRecord(i), Ct);
            await wal.FlushAsync(record.Lsn, Ct);
            await db.ApplyAsync([record], Ct);
        }

        await WriteAsync(1);
        positions.AppliedThrough(new Lsn(1));
        var feed = new ChangeFeed(wal, db, positions, new FakeLogger<ChangeFeed>());
        await using var consumer = feed.ReadAsync(ChangePosition.At(Lsn.None), new ChangeFeedOptions { Follow = true }, Ct).GetAsyncEnumerator(Ct);
        Assert.True(await consumer.MoveNextAsync());
        var next = consumer.MoveNextAsync().AsTask(); // waits for LSN 2 to be applied

        for (var i = 2; i <= 4; i++)
        {
            await WriteAsync(i);
        }

        wal.AdvanceApplied(new Lsn(3));
        wal.AdvanceAudited(new Lsn(3));
        Assert.Equal(new Lsn(4), await wal.TruncateAsync(Ct)); // LSN 2, the consumer's next, is gone
        positions.AppliedThrough(new Lsn(4));

        var gone = await Assert.ThrowsAsync<ChangesGoneException>(() => next.WaitAsync(TimeSpan.FromSeconds(10), Ct));
        Assert.Equal((new Lsn(2), new Lsn(4)), (gone.Requested, gone.FirstAvailable));
    }

    /// <summary>A page is read whole and served at the consumer's pace: a subject erased in between (its key destroyed) used
    /// to reach a slow consumer in plain from the page held in memory, after its erasure had answered "erased".</summary>
    [Fact]
    public async Task A_change_whose_key_is_destroyed_after_its_page_was_read_is_served_without_its_after_image()
    {
        var wal = new InMemoryWal();
        var db = new InMemoryDbWriter();
        var keys = new Nv.Unit.Tests.Support.InMemoryDataKeys();
        var key = keys.Add();
        var positions = new PipelinePositions();
        for (var i = 1; i <= 2; i++)
        {
            var record = await wal.AppendAsync(CreateRecord(i, "Customer", key.Id), Ct);
            await wal.FlushAsync(record.Lsn, Ct);
            await db.ApplyAsync([record], Ct);
            positions.AppliedThrough(record.Lsn);
        }

        var feed = new ChangeFeed(wal, db, positions, new FakeLogger<ChangeFeed>(), keys);
        await using var consumer = feed.ReadAsync(ChangePosition.At(Lsn.None), new ChangeFeedOptions { Follow = false }, Ct).GetAsyncEnumerator(Ct);
        Assert.True(await consumer.MoveNextAsync()); // the page of both changes is read now
        Assert.NotNull(consumer.Current.After);

        keys.Destroy(key.Id); // the subject is erased while the consumer holds the page

        Assert.True(await consumer.MoveNextAsync());
        Assert.Equal("2", consumer.Current.Id);
        Assert.Null(consumer.Current.After);
    }

    /// <summary>A consumer held a page of up to 512 records' changes until it had served them: with large records about
    /// 1 GiB per stalled consumer. A page now ends after the record whose changes reach the byte budget
    /// (PipelineOptions.ChangeFeedPageBytes), always holding one record at least.</summary>
    [Fact]
    public async Task A_page_ends_at_the_record_that_reaches_the_byte_budget_and_a_record_over_the_budget_is_still_served()
    {
        var wal = new InMemoryWal();
        var db = new InMemoryDbWriter();
        var positions = new PipelinePositions();
        for (var i = 1; i <= 11; i++)
        {
            var text = new string('x', i == 1 ? 200_000 : 40_000); // LSN 1 alone is over the budget; 2..11 are 40 KB each
            var record = await wal.AppendAsync(CreateRecord(i) with { Payload = Json($$"""{"s":"{{text}}"}""") }, Ct);
            await wal.FlushAsync(record.Lsn, Ct);
            await db.ApplyAsync([record], Ct);
            positions.AppliedThrough(record.Lsn);
        }

        var options = Microsoft.Extensions.Options.Options.Create(new PipelineOptions { ChangeFeedPageBytes = 100_000 });
        var feed = new ChangeFeed(wal, db, positions, new FakeLogger<ChangeFeed>(), options: options);
        await using var consumer = feed.ReadAsync(ChangePosition.At(Lsn.None), new ChangeFeedOptions { Follow = false }, Ct).GetAsyncEnumerator(Ct);

        Assert.True(await consumer.MoveNextAsync());
        Assert.Equal(1, wal.RecordsRead); // page 1: LSN 1 only (over the budget by itself, served all the same)
        Assert.True(await consumer.MoveNextAsync());
        Assert.Equal(4, wal.RecordsRead); // page 2: LSN 2..4 (80 KB after two, the third reaches 100 KB)
        var ids = new List<string> { "1", consumer.Current.Id };
        while (await consumer.MoveNextAsync())
        {
            ids.Add(consumer.Current.Id);
        }

        Assert.Equal(Enumerable.Range(1, 11).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), ids); // each once, in order
        Assert.Equal(11, wal.RecordsRead); // and no record read twice across pages
    }

    /// <summary>The stored outcomes of a page's records carry before images the feed never serves; they were read for the
    /// whole page (512 records) at once. They are read 32 records at a time now, as the page's records are.</summary>
    [Fact]
    public async Task A_page_reads_the_stored_outcomes_of_at_most_32_records_at_a_time()
    {
        var wal = new InMemoryWal();
        var db = new InMemoryDbWriter();
        var positions = new PipelinePositions();
        for (var i = 1; i <= 100; i++)
        {
            var record = await wal.AppendAsync(CreateRecord(i), Ct);
            await wal.FlushAsync(record.Lsn, Ct);
            await db.ApplyAsync([record], Ct);
            positions.AppliedThrough(record.Lsn);
        }

        var changes = await ReadAll(new ChangeFeed(wal, db, positions, new FakeLogger<ChangeFeed>()), ChangePosition.At(Lsn.None));

        Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), changes.Select(c => c.Lsn.Value));
        Assert.InRange(db.LargestResolutionsRead, 1, 32);
    }

    [Theory]
    [InlineData(4 * 1024 * 1024, true)]
    [InlineData(64 * 1024, true)]
    [InlineData(256 * 1024 * 1024, true)]
    [InlineData(64 * 1024 - 1, false)]
    [InlineData(256 * 1024 * 1024 + 1, false)]
    [InlineData(0, false)]
    public void The_page_budget_is_validated(int bytes, bool valid)
    {
        Assert.Equal(4 * 1024 * 1024, new PipelineOptions().ChangeFeedPageBytes);
        var result = new PipelineOptionsValidator().Validate(null, new PipelineOptions { ChangeFeedPageBytes = bytes });
        Assert.Equal(valid, result.Succeeded);
        Assert.Equal(valid, result.Failures is null || !result.Failures.Any(f => f.Contains("ChangeFeedPageBytes", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_position_the_wal_no_longer_holds_is_gone()
    {
        await using var wal = WriteAheadLog.CreateInMemory();
        await using var db = DbWriters.CreateInMemory();
        var positions = new PipelinePositions();
        for (var i = 1; i <= 6; i++)
        {
            var record = await wal.AppendAsync(CreateRecord(i), Ct);
            await wal.FlushAsync(record.Lsn, Ct);
            await db.ApplyAsync([record], Ct);
            positions.AppliedThrough(record.Lsn);
        }

        wal.AdvanceApplied(new Lsn(4));
        wal.AdvanceAudited(new Lsn(4));
        Assert.Equal(new Lsn(5), await wal.TruncateAsync(Ct));
        await db.PurgeAsync(new Lsn(4), Ct);

        var feed = new ChangeFeed(wal, db, positions, new FakeLogger<ChangeFeed>());
        var gone = Assert.Throws<ChangesGoneException>(() => feed.ThrowIfGone(ChangePosition.At(new Lsn(3))));
        Assert.Equal((new Lsn(3), new Lsn(5)), (gone.Requested, gone.FirstAvailable));
        await Assert.ThrowsAsync<ChangesGoneException>(() => ReadAll(feed, ChangePosition.At(new Lsn(4))));
        Assert.Equal(["5", "6"], (await ReadAll(feed, ChangePosition.At(new Lsn(5)))).Select(c => c.Id));
        Assert.Equal(["5", "6"], (await ReadAll(feed, ChangePosition.At(Lsn.None))).Select(c => c.Id));
    }
}
