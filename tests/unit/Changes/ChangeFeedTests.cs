using System.Text.Json;
using Microsoft.Extensions.Logging.Testing;
using Nv.DbWriter;
using Nv.Host.Changes;
using Nv.Host.Pipeline;
using Nv.Unit.Tests.Pipeline;
using Nv.Wal;

namespace Nv.Unit.Tests.Changes;

/// <summary>The change feed over the pipeline: applied changes only, in LSN and item order, exactly once from any resume
/// point, filtered by type, following new writes without holding writers back, and "gone" past WAL truncation.</summary>
public sealed class ChangeFeedTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();

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

        Assert.Equal(["1", "3.0", "3.1", "4"], changes.Select(c => c.Id));
        Assert.Equal(["create", "update", "create", "delete"], changes.Select(c => c.Operation));
        Assert.Equal(["r1", "b3", "b3", "r4"], changes.Select(c => c.RequestId));
        Assert.Equal([1, 2, 1, 1], changes.Select(c => c.Version));
        Assert.Equal(2, changes[1].After!.Value.GetProperty("v").GetInt32());
        Assert.Null(changes[3].After);
        Assert.Equal(["Order", "Order"], (await ReadAll(Feed(h), ChangePosition.At(Lsn.None), "Order")).Select(c => c.DtoType));
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

        Assert.Equal(["3.0", "3.1", "4"], (await ReadAll(feed, ChangePosition.At(new Lsn(2)))).Select(c => c.Id));
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

    [Fact]
    public async Task A_position_the_wal_no_longer_holds_is_gone()
    {
        await using var wal = WriteAheadLog.CreateInMemory();
        await using var db = DbWriters.CreateInMemory();
        var positions = new PipelinePositions();
        for (var i = 1; i <= 6; i++)
        {
            var record = await wal.AppendAsync(new WalRecord
            {
                Id = Guid.CreateVersion7(), Service = "svc", Version = 1, Timestamp = DateTimeOffset.UtcNow, Operation = WalOperation.Create,
                DtoType = "Order", EntityId = "o" + i, Payload = Json("{}"), ReplayKey = "test:svc:1:Order:o" + i, RequestId = "r" + i,
            }, Ct);
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
