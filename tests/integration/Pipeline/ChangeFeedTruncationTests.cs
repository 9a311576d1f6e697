using Microsoft.Extensions.Logging.Abstractions;
using Nv.DbWriter;
using Nv.Host.Changes;
using Nv.Host.Pipeline;
using Nv.Integration.Tests.Support;
using Nv.Wal;

namespace Nv.Integration.Tests.Pipeline;

/// <summary>The change feed over a FasterLog WAL truncated past a batch: a consumer that got the batch's last item resumes
/// after it, one that stopped inside the batch hears "gone".</summary>
/// <remarks>The last item of the batch at LSN 2 used to carry the id "2.3", which resumes at item 4 of LSN 2; once LSN 2 was
/// truncated that was "gone" (410 over HTTP) although the consumer had missed nothing.</remarks>
public sealed class ChangeFeedTruncationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task After_a_truncated_batch_a_consumer_that_got_its_last_item_resumes_and_one_that_stopped_inside_it_is_gone()
    {
        using var dir = new TempDirectory();
        await using var wal = WriteAheadLog.Open(new WalOptions { Directory = System.IO.Path.Combine(dir.Path, "wal") });
        await using var db = DbWriters.CreateInMemory();
        var positions = new PipelinePositions();
        await AppendAsync(wal, db, positions, WalRecords.Create(1, "a", "{}"));                                   // LSN 1
        await AppendAsync(wal, db, positions, BatchRecords.Batch(2,                                                // LSN 2, items 0..3
            BatchRecords.Create(2, 0, "b0", "{}"), BatchRecords.Create(2, 1, "b1", "{}"),
            BatchRecords.Create(2, 2, "b2", "{}", dtoType: "Stock"), BatchRecords.Create(2, 3, "b3", "{}", dtoType: "Stock")));
        await AppendAsync(wal, db, positions, WalRecords.Create(3, "c", "{}"));                                   // LSN 3
        await AppendAsync(wal, db, positions, WalRecords.Create(4, "d", "{}"));                                   // LSN 4
        var feed = new ChangeFeed(wal, db, positions, NullLogger<ChangeFeed>.Instance);

        var all = await ReadAllAsync(feed, ChangePosition.At(Lsn.None));
        Assert.Equal(new ChangePosition(new Lsn(2), 3), all[4].Position);
        var orders = await ReadAllAsync(feed, ChangePosition.At(Lsn.None), "Order");
        Assert.Equal(new ChangePosition(new Lsn(2), 1), orders[2].Position); // the batch's last Order item

        wal.AdvanceApplied(new Lsn(2));
        wal.AdvanceAudited(new Lsn(2));
        Assert.Equal(new Lsn(3), await wal.TruncateAsync(Ct)); // LSN 1 and the whole batch are gone from the WAL
        await db.PurgeAsync(new Lsn(2), Ct);

        // Got the batch's last item (of all items, or of its filter's): resumes at LSN 3, nothing missed, nothing "gone".
        foreach (var lastId in new[] { all[4].Id, orders[2].Id })
        {
            Assert.True(ChangePosition.TryParseAfter(lastId, out var next));
            feed.ThrowIfGone(next);
            Assert.Equal(["3", "4"], (await ReadAllAsync(feed, next)).Select(c => c.Id));
        }

        Assert.Equal(["1", "2.0", "2.1", "2.2", "2", "3", "4"], all.Select(c => c.Id));
        Assert.Equal(["1", "2.0", "2", "3", "4"], orders.Select(c => c.Id));

        // Stopped after item 1 or 2: items of LSN 2 were missed, and they are gone.
        foreach (var middleId in new[] { "2.1", "2.2" })
        {
            Assert.True(ChangePosition.TryParseAfter(middleId, out var next));
            var gone = Assert.Throws<ChangesGoneException>(() => feed.ThrowIfGone(next));
            Assert.Equal((new Lsn(2), new Lsn(3)), (gone.Requested, gone.FirstAvailable));
            await Assert.ThrowsAsync<ChangesGoneException>(() => ReadAllAsync(feed, next));
        }

        // The id older builds gave the last item still parses, as before (item 4 of LSN 2): it cannot say the batch ended,
        // so past a truncation it stays "gone"; the ids this build sends do not have that problem.
        Assert.True(ChangePosition.TryParseAfter("2.3", out var older));
        Assert.Equal(new ChangePosition(new Lsn(2), 4), older);
        Assert.Throws<ChangesGoneException>(() => feed.ThrowIfGone(older));
    }

    private static async Task<List<ChangeEvent>> ReadAllAsync(ChangeFeed feed, ChangePosition from, string? dtoType = null)
    {
        var list = new List<ChangeEvent>();
        await foreach (var change in feed.ReadAsync(from, new ChangeFeedOptions { DtoType = dtoType, Follow = false }, Ct))
        {
            list.Add(change);
        }

        return list;
    }

    private static async Task AppendAsync(IWriteAheadLog wal, IDbWriter db, PipelinePositions positions, WalRecord record)
    {
        var stored = await wal.AppendAsync(record, Ct);
        Assert.Equal(record.Lsn, stored.Lsn);
        await wal.FlushAsync(stored.Lsn, Ct);
        Assert.Equal(ApplyStatus.Applied, (await db.ApplyAsync([stored], Ct))[0].Status);
        positions.AppliedThrough(stored.Lsn);
    }
}
