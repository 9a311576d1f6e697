using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Nv.Audit;
using Nv.DbWriter;
using Nv.Host.Pipeline;
using Nv.Integration.Tests.Support;
using Nv.Wal;

namespace Nv.Integration.Tests.Pipeline;

/// <summary>The lost update on a late retry, on the real FasterLog WAL, SQLite store and audit trail: a retried
/// request id must return its first outcome after the WAL was truncated and the resolutions purged, across a restart
/// and once the in-memory cache has moved on.</summary>
public sealed class IdempotencyOnRealStoresTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _dir.Dispose();

    // Small segments so that a few hundred writes fill several and truncation can drop the first.
    private static Dictionary<string, string?> Settings(int cacheSize = 100_000) => new()
    {
        ["Nv:Wal:SegmentSizeBits"] = "16",
        ["Nv:Wal:PageSizeBits"] = "12",
        ["Nv:Wal:MemorySizeBits"] = "14",
        ["Nv:Wal:MaxRecordBytes"] = "4000",
        ["Nv:Pipeline:MaxPayloadBytes"] = "1024",
        ["Nv:Pipeline:MaxBatchBytes"] = "4000", // a batch is one record too
        ["Nv:Pipeline:RequestIdCacheSize"] = cacheSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Nv:Pipeline:DurablePointInterval"] = "00:00:00.050",
    };

    private static WriteRequest Write(string requestId, WalOperation operation, string entityId, object payload) => new()
    {
        RequestId = requestId,
        Operation = operation,
        DtoType = "Acct",
        EntityId = entityId,
        Payload = JsonSerializer.SerializeToElement(payload),
        UserId = "alice",
    };

    private static WriteRequest P1 => Write("p1", WalOperation.Update, "a1", new { balance = 50 });

    // c1, p1, p2, then enough other writes to fill segments; then maintenance until p1's segment is gone from the WAL
    // and its resolution purged from the database.
    private static async Task<WriteOutcome> LoseP1FromTheWalAsync(NvTestHost nv)
    {
        Assert.Equal(WriteStatus.Applied, (await nv.Pipeline.WriteAsync(Write("c1", WalOperation.Create, "a1", new { balance = 100 }), Ct)).Status);
        var p1 = await nv.Pipeline.WriteAsync(P1, Ct);
        Assert.Equal(WriteStatus.Applied, p1.Status);
        Assert.Equal(WriteStatus.Applied, (await nv.Pipeline.WriteAsync(Write("p2", WalOperation.Update, "a1", new { balance = 70 }), Ct)).Status);
        for (var i = 0; i < 300; i += 20)
        {
            await Task.WhenAll(Enumerable.Range(i, 20).Select(n =>
                nv.Pipeline.WriteAsync(Write("fill-" + n, WalOperation.Create, "f" + n, new { pad = new string('x', 400) }), Ct)));
        }

        var pipeline = nv.Services.GetRequiredService<WritePipeline>();
        var db = nv.Services.GetRequiredService<IDbWriter>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var first = await pipeline.RunMaintenanceAsync(Ct);
            var resolutions = await db.GetResolutionsAsync(Lsn.None, (int)p1.Lsn.Value, Ct);
            if (first > p1.Lsn && resolutions.All(r => r.Lsn != p1.Lsn))
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, $"maintenance did not truncate past p1 (lsn {p1.Lsn}); first LSN {first}");
            await Task.Delay(100, Ct);
        }

        return p1;
    }

    private static async Task AssertP1ReplayedAsync(NvTestHost nv, WriteOutcome p1)
    {
        var wal = nv.Services.GetRequiredService<IWriteAheadLog>();
        var last = wal.LastLsn;

        var retry = await nv.Pipeline.WriteAsync(P1, Ct);

        Assert.True(retry.IsReplay, "the retry must be answered as a replay");
        Assert.Equal((WriteStatus.Applied, p1.Lsn), (retry.Status, retry.Lsn));
        Assert.Equal(last, wal.LastLsn);
        var stored = await nv.Services.GetRequiredService<IDbWriter>().GetAsync("Acct", "a1", Ct);
        Assert.Equal(70, stored!.Document.GetProperty("balance").GetInt32());
        var audit = await nv.Services.GetRequiredService<IAuditSink>().QueryAsync(new AuditQuery { RequestId = "p1" }, Ct);
        Assert.Single(audit.Entries);
    }

    [Fact]
    public async Task A_late_retry_after_truncation_purge_and_restart_returns_the_first_outcome_and_writes_nothing()
    {
        WriteOutcome p1;
        await using (var nv = await NvTestHost.StartAsync(_dir.Path, Settings()))
        {
            p1 = await LoseP1FromTheWalAsync(nv);
        }

        await using var restarted = await NvTestHost.StartAsync(_dir.Path, Settings());
        await AssertP1ReplayedAsync(restarted, p1);
    }

    [Fact]
    public async Task A_late_retry_after_truncation_and_purge_once_the_cache_moved_on_returns_the_first_outcome()
    {
        await using var nv = await NvTestHost.StartAsync(_dir.Path, Settings(cacheSize: 10));
        var p1 = await LoseP1FromTheWalAsync(nv);
        await AssertP1ReplayedAsync(nv, p1);
    }

    private static BatchRequest Transfer(int amount) => new()
    {
        RequestId = "t1",
        UserId = "alice",
        Items =
        [
            new BatchItem { Operation = BatchOperation.Update, DtoType = "Acct", EntityId = "a1", Payload = JsonSerializer.SerializeToElement(new { balance = 100 - amount }) },
            new BatchItem { Operation = BatchOperation.Update, DtoType = "Acct", EntityId = "a2", Payload = JsonSerializer.SerializeToElement(new { balance = amount }) },
        ],
    };

    [Fact]
    public async Task A_batch_retried_after_a_restart_returns_its_first_outcome_and_the_id_on_another_batch_is_refused()
    {
        // SQLite stored no request outcome for batch records: after a restart the retry was appended and applied again
        // (here: over a later write, a lost update), and the same id on a different batch was accepted.
        BatchOutcome first;
        await using (var nv = await NvTestHost.StartAsync(_dir.Path, Settings()))
        {
            await nv.Pipeline.WriteAsync(Write("c1", WalOperation.Create, "a1", new { balance = 100 }), Ct);
            await nv.Pipeline.WriteAsync(Write("c2", WalOperation.Create, "a2", new { balance = 0 }), Ct);
            first = await nv.Pipeline.WriteBatchAsync(Transfer(30), Ct);
            Assert.Equal(WriteStatus.Applied, first.Status);
            await nv.Pipeline.WriteAsync(Write("later", WalOperation.Update, "a1", new { balance = 5 }), Ct);
        }

        await using var restarted = await NvTestHost.StartAsync(_dir.Path, Settings());
        var wal = restarted.Services.GetRequiredService<IWriteAheadLog>();
        var last = wal.LastLsn;

        var retry = await restarted.Pipeline.WriteBatchAsync(Transfer(30), Ct);

        Assert.True(retry.IsReplay, "the retried batch must be answered as a replay");
        Assert.Equal((WriteStatus.Applied, first.Lsn), (retry.Status, retry.Lsn));
        await Assert.ThrowsAsync<IdempotencyKeyReusedException>(() => restarted.Pipeline.WriteBatchAsync(Transfer(40), Ct));
        Assert.Equal(last, wal.LastLsn);
        var a1 = await restarted.Services.GetRequiredService<IDbWriter>().GetAsync("Acct", "a1", Ct);
        Assert.Equal(5, a1!.Document.GetProperty("balance").GetInt32());
    }

    [Fact]
    public async Task A_different_batch_under_a_batch_s_request_id_sent_first_after_a_restart_is_refused()
    {
        // The outcome stored for a batch must carry its fingerprint (WAL format 2, kind 2), or a different batch under the same
        // id would be answered as a replay of the first one.
        await using (var nv = await NvTestHost.StartAsync(_dir.Path, Settings()))
        {
            await nv.Pipeline.WriteAsync(Write("c1", WalOperation.Create, "a1", new { balance = 100 }), Ct);
            await nv.Pipeline.WriteAsync(Write("c2", WalOperation.Create, "a2", new { balance = 0 }), Ct);
            Assert.Equal(WriteStatus.Applied, (await nv.Pipeline.WriteBatchAsync(Transfer(30), Ct)).Status);
        }

        await using var restarted = await NvTestHost.StartAsync(_dir.Path, Settings());
        var wal = restarted.Services.GetRequiredService<IWriteAheadLog>();
        var last = wal.LastLsn;
        await Assert.ThrowsAsync<IdempotencyKeyReusedException>(() => restarted.Pipeline.WriteBatchAsync(Transfer(40), Ct));
        Assert.Equal(last, wal.LastLsn);
        Assert.Equal(70, (await restarted.Services.GetRequiredService<IDbWriter>().GetAsync("Acct", "a1", Ct))!.Document.GetProperty("balance").GetInt32());
    }

    [Fact]
    public async Task The_same_request_id_for_another_request_after_a_restart_is_refused_and_writes_nothing()
    {
        await using (var nv = await NvTestHost.StartAsync(_dir.Path, Settings()))
        {
            await nv.Pipeline.WriteAsync(Write("k", WalOperation.Create, "item-a", new { v = 1 }), Ct);
        }

        await using var restarted = await NvTestHost.StartAsync(_dir.Path, Settings());
        var wal = restarted.Services.GetRequiredService<IWriteAheadLog>();
        var last = wal.LastLsn;
        await Assert.ThrowsAsync<IdempotencyKeyReusedException>(() =>
            restarted.Pipeline.WriteAsync(Write("k", WalOperation.Create, "item-b", new { v = 1 }), Ct));
        Assert.Equal(last, wal.LastLsn);
        Assert.Null(await restarted.Services.GetRequiredService<IDbWriter>().GetAsync("Acct", "item-b", Ct));
    }
}
