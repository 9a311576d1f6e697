using System.Text.Json;
using Nv.DbWriter;
using Nv.Wal;
using Nv.Integration.Tests.Support;
using static Nv.Integration.Tests.Support.BatchRecords;
using static Nv.Integration.Tests.Support.WalRecords;

namespace Nv.Integration.Tests.Conformance;

/// <summary>How every <see cref="IDbWriter"/> applies batch records: all items or none, one LSN for every entity written,
/// the failed item named, replay returning the first outcome with every item's before image, and the outcome kept
/// across a reopen. Subclasses supply the store (SQLite here; MongoDB on a replica set when a server is available).</summary>
public abstract class BatchConformanceTests : IAsyncLifetime
{
    private IDbWriter? _writer;

    protected IDbWriter Writer => _writer ?? throw new InvalidOperationException("Not initialized.");

    /// <summary>Opens this test's store: empty on the first call, the same store on later calls.</summary>
    protected abstract Task<IDbWriter> OpenWriterAsync();

    public async ValueTask InitializeAsync()
    {
        _writer = await OpenWriterAsync();
        await _writer.InitializeAsync(Ct);
    }

    public virtual async ValueTask DisposeAsync()
    {
        if (_writer is not null)
        {
            await _writer.DisposeAsync();
            _writer = null;
        }

        GC.SuppressFinalize(this);
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Task<IReadOnlyList<ApplyResult>> Apply(params WalRecord[] batch) => Writer.ApplyAsync(batch, Ct);

    private async Task Reopen()
    {
        await Writer.DisposeAsync();
        _writer = await OpenWriterAsync();
        await _writer.InitializeAsync(Ct);
    }

    private async Task AssertStored(string entityId, string? json, long lsn = 0, string dtoType = DefaultType)
    {
        var stored = await Writer.GetAsync(dtoType, entityId, Ct);
        if (json is null)
        {
            Assert.Null(stored);
            return;
        }

        Assert.NotNull(stored);
        Assert.True(JsonElement.DeepEquals(Json(json), stored.Document), $"{dtoType}/{entityId}: expected {json}, got {stored.Document.GetRawText()}");
        if (lsn != 0)
        {
            Assert.Equal(new Lsn(lsn), stored.Lsn);
        }
    }

    [Fact]
    public async Task A_batch_applies_every_item_at_one_lsn_with_before_and_after_images()
    {
        await Apply(Create(1, "o-1", """{"v":1}"""), Create(2, "s-9", """{"qty":5}""", dtoType: "Stock"));
        var results = await Apply(Batch(3,
            BatchRecords.Create(3, 0, "o-2", """{"v":2}"""),
            BatchRecords.Update(3, 1, "s-9", """{"qty":4}""", expected: new Lsn(2), dtoType: "Stock", version: 2),
            BatchRecords.Delete(3, 2, "o-1")));

        var result = Assert.Single(results);
        Assert.Equal(ApplyStatus.Applied, result.Status);
        Assert.Null(result.FailedItem);
        Assert.Equal(3, result.Items!.Count);
        Assert.All(result.Items, i => Assert.Equal((new Lsn(3), ApplyStatus.Applied), (i.Lsn, i.Status)));
        Assert.Null(result.Items[0].Before);
        Assert.True(JsonElement.DeepEquals(Json("""{"qty":5}"""), result.Items[1].Before!.Value));
        Assert.True(JsonElement.DeepEquals(Json("""{"qty":4}"""), result.Items[1].After!.Value));
        Assert.True(JsonElement.DeepEquals(Json("""{"v":1}"""), result.Items[2].Before!.Value));
        Assert.Null(result.Items[2].After);

        await AssertStored("o-2", """{"v":2}""", 3);
        await AssertStored("s-9", """{"qty":4}""", 3, "Stock");
        await AssertStored("o-1", null);
        var stock = await Writer.GetAsync("Stock", "s-9", Ct);
        Assert.Equal(ItemId(3, 1), stock!.WalId);
        Assert.Equal(2, stock.DtoVersion);
        Assert.Equal(new Lsn(3), await Writer.GetResolvedThroughAsync(Ct));
    }

    [Theory]
    [InlineData("already-exists")]
    [InlineData("not-found")]
    [InlineData("precondition")]
    public async Task Any_failed_item_rejects_the_whole_batch_and_names_it(string failure)
    {
        await Apply(Create(1, "a", """{"v":1}"""), Create(2, "b", """{"v":1}"""), Create(3, "x", """{"v":1}"""));
        var failing = failure switch
        {
            "already-exists" => BatchRecords.Create(4, 2, "x", """{"v":9}"""),
            "not-found" => BatchRecords.Update(4, 2, "missing", """{"v":9}"""),
            _ => BatchRecords.Update(4, 2, "x", """{"v":9}""", expected: new Lsn(1)),
        };
        var result = Assert.Single(await Apply(Batch(4,
            BatchRecords.Create(4, 0, "c", """{"v":3}"""),
            BatchRecords.Update(4, 1, "a", """{"v":2}"""),
            failing,
            BatchRecords.Delete(4, 3, "b"))));

        Assert.Equal(ApplyStatus.Rejected, result.Status);
        Assert.Equal(2, result.FailedItem);
        Assert.Equal(failure switch
        {
            "already-exists" => RejectReason.AlreadyExists,
            "not-found" => RejectReason.NotFound,
            _ => RejectReason.PreconditionFailed,
        }, result.RejectReason);
        Assert.Contains("item 2", result.Error!, StringComparison.Ordinal);

        // Nothing of it is visible, and the watermark covers it (it is resolved: rejected, never retried).
        await AssertStored("c", null);
        await AssertStored("a", """{"v":1}""", 1);
        await AssertStored("b", """{"v":1}""", 2);
        await AssertStored("x", """{"v":1}""", 3);
        Assert.Equal(new Lsn(4), await Writer.GetResolvedThroughAsync(Ct));
        var stored = Assert.Single(await Writer.GetResolutionsAsync(new Lsn(3), 1, Ct));
        Assert.Equal((ApplyStatus.Rejected, 2), (stored.Status, stored.FailedItem));

        // The request outcome names the failed item too, and keeps it once the resolution is purged with the WAL.
        var key = RequestKey.Of(Batch(4));
        await Writer.PurgeAsync(new Lsn(4), Ct);
        var outcome = (await Writer.FindRequestsAsync([key], Ct))[key];
        Assert.Equal((ApplyStatus.Rejected, (int?)2, (Guid?)null), (outcome.Status, outcome.FailedItem, outcome.RecordId));
    }

    [Fact]
    public async Task A_replayed_batch_returns_its_first_outcome_with_each_items_before_image_also_after_a_reopen()
    {
        await Apply(Create(1, "a", """{"v":1}"""));
        var batch = Batch(2, BatchRecords.Update(2, 0, "a", """{"v":2}"""), BatchRecords.Create(2, 1, "b", """{"w":1}"""));
        await Apply(batch);
        await Apply(Update(3, "a", """{"v":3}"""));
        await Reopen();

        var replayed = Assert.Single(await Apply(batch));
        Assert.Equal(ApplyStatus.AlreadyApplied, replayed.Status);
        Assert.Equal([ApplyStatus.Applied, ApplyStatus.Applied], replayed.Items!.Select(i => i.Status));
        Assert.True(JsonElement.DeepEquals(Json("""{"v":1}"""), replayed.Items![0].Before!.Value));
        Assert.Null(replayed.Items[1].Before);
        await AssertStored("a", """{"v":3}""", 3);

        var resolution = Assert.Single(await Writer.GetResolutionsAsync(new Lsn(1), 1, Ct));
        Assert.Equal(ApplyStatus.Applied, resolution.Status);
        Assert.Equal(2, resolution.Items!.Count);
        Assert.True(JsonElement.DeepEquals(Json("""{"v":1}"""), resolution.Items[0].Before!.Value));
        Assert.Equal("batch-2", (await Writer.FindByRequestIdAsync("batch-2", Ct))!.RequestId);

        var rejected = Batch(4, BatchRecords.Create(4, 0, "b", """{"w":2}"""));
        Assert.Equal(0, Assert.Single(await Apply(rejected)).FailedItem);
        await Reopen();
        var again = Assert.Single(await Apply(rejected));
        Assert.Equal((ApplyStatus.Rejected, RejectReason.AlreadyExists, (int?)0), (again.Status, again.RejectReason, again.FailedItem));
    }

    [Fact]
    public async Task Batches_and_single_records_mix_in_one_apply_call_in_lsn_order()
    {
        var results = await Apply(
            Create(1, "a", """{"v":1}"""),
            Batch(2, BatchRecords.Update(2, 0, "a", """{"v":2}""", expected: new Lsn(1)), BatchRecords.Create(2, 1, "b", """{"v":1}""")),
            Update(3, "b", """{"v":2}""", expectedLsn: new Lsn(2)),
            Batch(4, BatchRecords.Delete(4, 0, "a", expected: new Lsn(1))),
            Delete(5, "b"));

        Assert.Equal([ApplyStatus.Applied, ApplyStatus.Applied, ApplyStatus.Applied, ApplyStatus.Rejected, ApplyStatus.Applied],
            results.Select(r => r.Status));
        await AssertStored("a", """{"v":2}""", 2);
        await AssertStored("b", null);
        Assert.Equal(new Lsn(5), await Writer.GetResolvedThroughAsync(Ct));
    }

    [Fact]
    public async Task A_delete_in_a_batch_leaves_a_tombstone_an_older_create_cannot_resurrect()
    {
        await Apply(Create(1, "a", """{"v":1}"""));
        await Apply(Batch(2, BatchRecords.Delete(2, 0, "a")));
        var stale = Assert.Single(await Apply(Create(1, "a", """{"v":1}""")));
        Assert.NotEqual(ApplyStatus.Applied, stale.Status);
        await AssertStored("a", null);
        Assert.Equal(ApplyStatus.Applied, Assert.Single(await Apply(Batch(3, BatchRecords.Create(3, 0, "a", """{"v":3}""")))).Status);
        await AssertStored("a", """{"v":3}""", 3);
    }

    [Fact]
    public async Task A_batch_naming_an_entity_twice_or_with_a_bad_item_is_refused_before_anything_is_written()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Apply(Batch(1,
            BatchRecords.Create(1, 0, "a", """{"v":1}"""), BatchRecords.Update(1, 1, "a", """{"v":2}"""))));
        await Assert.ThrowsAsync<ArgumentException>(() => Apply(Batch(1)));
        await Assert.ThrowsAsync<ArgumentException>(() => Apply(Batch(1, BatchRecords.Create(1, 0, "a", """{"v":1}""", dtoType: "bad type"))));
        await AssertStored("a", null);
        Assert.Equal(Lsn.None, await Writer.GetResolvedThroughAsync(Ct));
    }

    [Fact]
    public async Task Purge_forgets_batch_resolutions_and_a_purged_batch_replays_as_already_applied()
    {
        await Apply(Batch(1, BatchRecords.Create(1, 0, "a", """{"v":1}""")), Create(2, "b", """{"v":1}"""));
        await Writer.PurgeAsync(new Lsn(1), Ct);
        Assert.Empty(await Writer.GetResolutionsAsync(Lsn.None, 1, Ct));
        var replayed = Assert.Single(await Apply(Batch(1, BatchRecords.Create(1, 0, "a", """{"v":1}"""))));
        Assert.Equal(ApplyStatus.AlreadyApplied, replayed.Status);
        await AssertStored("a", """{"v":1}""", 1);
    }

    [Fact]
    public async Task A_batch_keeps_its_request_outcome_like_a_single_write_across_a_reopen_and_the_resolution_purge()
    {
        // Without it, a batch retried after a restart and a WAL truncation was appended and applied a second time (the
        // pipeline finds a first attempt it no longer remembers only among the stored request outcomes).
        var fingerprint = new string('a', 64);
        await Apply(
            Batch(1, BatchRecords.Create(1, 0, "a", """{"v":1}""")) with { Fingerprint = fingerprint },
            Batch(2, BatchRecords.Create(2, 0, "a", """{"v":2}""")) with { RequestId = "batch-rejected" });
        await Writer.PurgeAsync(new Lsn(2), Ct);
        await Reopen();

        var found = await Writer.FindRequestsAsync([new RequestKey("tester", "batch-1"), new RequestKey("tester", "batch-rejected")], Ct);

        Assert.Equal(2, found.Count);
        var applied = found[new RequestKey("tester", "batch-1")];
        Assert.Equal((new Lsn(1), ApplyStatus.Applied, "tester", fingerprint, WalOperation.Batch),
            (applied.Lsn, applied.Status, applied.Scope, applied.Fingerprint, applied.Operation));
        var rejected = found[new RequestKey("tester", "batch-rejected")];
        Assert.Equal((new Lsn(2), ApplyStatus.Rejected, RejectReason.AlreadyExists), (rejected.Lsn, rejected.Status, rejected.RejectReason));
    }
}
