using Microsoft.Extensions.Logging.Abstractions;
using Nv.DbWriter;
using Nv.Host.Changes;
using Nv.Host.Pipeline;
using Nv.Integration.Tests.Support;
using Nv.Wal;

namespace Nv.Integration.Tests.Pipeline;

/// <summary>The change feed over a FasterLog WAL whose LSNs jump (ContinueAfterAsync after data loss, as
/// AcceptStoreAheadOfWal does): the changes before the gap are served, then "gone" names the first LSN after the gap.</summary>
/// <remarks>It used to name the log's first LSN, below the gap: a consumer following that (or reconnecting with its last
/// event id, as EventSource does) was sent back into the same gap for ever.</remarks>
public sealed class ChangeFeedGapTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Gone_in_a_gap_of_lsns_names_the_first_lsn_held_after_it()
    {
        using var dir = new TempDirectory();
        var options = new WalOptions { Directory = System.IO.Path.Combine(dir.Path, "wal") };
        await using var db = DbWriters.CreateInMemory();
        var positions = new PipelinePositions();
        await using (var before = WriteAheadLog.Open(options))
        {
            await AppendAsync(before, db, positions, 3); // LSN 1..3
        }

        await using var wal = WriteAheadLog.Open(options);
        await wal.ContinueAfterAsync(new Lsn(10), Ct); // 4..10 never in this log
        await AppendAsync(wal, db, positions, 2); // LSN 11, 12
        var feed = new ChangeFeed(wal, db, positions, NullLogger<ChangeFeed>.Instance);

        var seen = new List<string>();
        var gone = await Assert.ThrowsAsync<ChangesGoneException>(async () =>
        {
            await foreach (var change in feed.ReadAsync(ChangePosition.At(Lsn.None), new ChangeFeedOptions { Follow = false }, Ct))
            {
                seen.Add(change.Id);
            }
        });

        Assert.Equal(["1", "2", "3"], seen); // served up to the gap
        Assert.Equal((new Lsn(4), new Lsn(11)), (gone.Requested, gone.FirstAvailable));
        var inGap = await Assert.ThrowsAsync<ChangesGoneException>(() => ReadAllAsync(feed, new Lsn(7)));
        Assert.Equal(new Lsn(11), inGap.FirstAvailable);
        Assert.Equal(["11", "12"], await ReadAllAsync(feed, gone.FirstAvailable)); // resuming where it says works
    }

    private static async Task<List<string>> ReadAllAsync(ChangeFeed feed, Lsn from)
    {
        var ids = new List<string>();
        await foreach (var change in feed.ReadAsync(ChangePosition.At(from), new ChangeFeedOptions { Follow = false }, Ct))
        {
            ids.Add(change.Id);
        }

        return ids;
    }

    private static async Task AppendAsync(IWriteAheadLog wal, IDbWriter db, PipelinePositions positions, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var record = await wal.AppendAsync(new WalRecord
            {
                Id = Guid.CreateVersion7(), Service = "svc", Version = 1, Timestamp = DateTimeOffset.UtcNow, Operation = WalOperation.Create,
                DtoType = "Order", EntityId = "o" + Guid.NewGuid().ToString("N"), Payload = WalRecords.Json("{}"), ReplayKey = "test:svc:1:Order:" + i,
                RequestId = "r" + Guid.NewGuid().ToString("N"),
            }, Ct);
            await wal.FlushAsync(record.Lsn, Ct);
            await db.ApplyAsync([record], Ct);
            positions.AppliedThrough(record.Lsn);
        }
    }
}
