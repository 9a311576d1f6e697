using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Nv.Audit;
using Nv.DbWriter;
using Nv.Host.Pipeline;
using Nv.Host.Replay;
using Nv.Integration.Tests.Support;
using Nv.Wal;
using Nv.Wal.Watermarks;

namespace Nv.Integration.Tests.Pipeline;

/// <summary>Boot replay starts from what each store holds (its own LSN, committed with its data), never from the WAL's
/// watermark file; and a store that disagrees with the WAL in a way replay cannot repair refuses to start.</summary>
public sealed class StorePositionTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly Dictionary<string, string?> SmallSegments = new()
    {
        ["Nv:Wal:SegmentSizeBits"] = "16",
        ["Nv:Wal:PageSizeBits"] = "12",
        ["Nv:Wal:MemorySizeBits"] = "14",
        ["Nv:Wal:MaxRecordBytes"] = "4000", // the payload limit plus the largest ids must fit a record (options validation)
        ["Nv:Pipeline:MaxPayloadBytes"] = "1024",
        ["Nv:Pipeline:MaxBatchBytes"] = "4000", // a batch is one record too
    };

    private static WriteRequest Write(string requestId, WalOperation operation, string entityId, object? payload = null) => new()
    {
        RequestId = requestId,
        Operation = operation,
        DtoType = "Account",
        EntityId = entityId,
        Payload = payload is null ? null : JsonSerializer.SerializeToElement(payload),
        UserId = "alice",
    };

    [Theory]
    [InlineData("deleted")]
    [InlineData("zeroed")]
    public async Task After_truncation_the_host_starts_without_its_watermark_file_and_loses_nothing(string damage)
    {
        Lsn last;
        await using (var nv = await NvTestHost.StartAsync(_dir.Path, SmallSegments))
        {
            await Task.WhenAll(Enumerable.Range(0, 400).Select(i =>
                nv.Pipeline.WriteAsync(Write("w-" + i, WalOperation.Create, "a" + i, new { pad = new string('x', 400) }), Ct)));
            var pipeline = nv.Services.GetRequiredService<WritePipeline>();
            await pipeline.MakeStoresDurableAsync(Ct);
            Assert.True((await pipeline.RunMaintenanceAsync(Ct)).Value > 1, "the test needs a truncated WAL");
            last = nv.Services.GetRequiredService<IWriteAheadLog>().LastLsn;
        }

        var checkpoint = Path.Combine(_dir.Path, "wal", WatermarkCheckpoint.FileName);
        if (damage == "deleted")
        {
            File.Delete(checkpoint);
        }
        else
        {
            File.WriteAllBytes(checkpoint, new byte[new FileInfo(checkpoint).Length]);
        }

        await using var again = await NvTestHost.StartAsync(_dir.Path, SmallSegments);
        Assert.Equal(0, again.BootReplay.Replayed);
        Assert.True(again.Pipeline.IsReady);
        var db = again.Services.GetRequiredService<IDbWriter>();
        Assert.Equal(last, await db.GetResolvedThroughAsync(Ct));
        Assert.NotNull(await db.GetAsync("Account", "a0", Ct));
        Assert.NotNull(await db.GetAsync("Account", "a399", Ct));
        var next = await again.Pipeline.WriteAsync(Write("after", WalOperation.Create, "b1", new { n = 1 }), Ct);
        Assert.Equal(WriteStatus.Applied, next.Status);
        Assert.Equal(last.Next, next.Lsn);
        Assert.True((await again.Services.GetRequiredService<IAuditSink>().VerifyAsync(Ct)).IsValid);
    }

    [Fact]
    public async Task A_database_ahead_of_the_wal_refuses_to_start_and_no_lsn_is_reused()
    {
        await using (var nv = await NvTestHost.StartAsync(_dir.Path))
        {
            for (var i = 0; i < 5; i++)
            {
                await nv.Pipeline.WriteAsync(Write("w-" + i, WalOperation.Create, "a" + i, new { n = i }), Ct);
            }
        }

        Directory.Delete(Path.Combine(_dir.Path, "wal"), recursive: true); // the WAL is lost; the stores hold LSN 1..5

        var error = await Assert.ThrowsAsync<StoreWalMismatchException>(() => NvTestHost.StartAsync(_dir.Path));
        Assert.True(error.StoreAhead);
        Assert.Equal(new Lsn(5), error.StoreLsn);
        Assert.Contains("will not reuse LSNs", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_accepted_loss_of_the_wal_continues_lsns_above_the_highest_the_stores_hold_and_survives_a_restart()
    {
        await using (var nv = await NvTestHost.StartAsync(_dir.Path))
        {
            for (var i = 0; i < 5; i++)
            {
                await nv.Pipeline.WriteAsync(Write("w-" + i, WalOperation.Create, "a" + i, new { n = i }), Ct);
            }
        }

        Directory.Delete(Path.Combine(_dir.Path, "wal"), recursive: true);

        await using (var nv = await NvTestHost.StartAsync(_dir.Path, new Dictionary<string, string?> { ["Nv:Pipeline:AcceptStoreAheadOfWal"] = "true" }))
        {
            Assert.Contains(nv.Logs.GetSnapshot(), r => r.Id.Id == 3113);
            var next = await nv.Pipeline.WriteAsync(Write("after", WalOperation.Create, "b1", new { n = 9 }), Ct);
            Assert.Equal(WriteStatus.Applied, next.Status);
            Assert.Equal(new Lsn(6), next.Lsn); // never 1: LSN 1..5 are taken in the stores
        }

        // The setting is off again: the jump was recorded durably, the stores match the WAL, nothing is refused.
        await using var again = await NvTestHost.StartAsync(_dir.Path);
        var last = await again.Pipeline.WriteAsync(Write("later", WalOperation.Create, "b2", new { n = 10 }), Ct);
        Assert.Equal(new Lsn(7), last.Lsn);
        Assert.True((await again.Services.GetRequiredService<IAuditSink>().VerifyAsync(Ct)).IsValid);
    }

    [Fact]
    public async Task A_deleted_audit_store_refuses_to_start_when_the_wal_no_longer_holds_its_records()
    {
        await using (var nv = await NvTestHost.StartAsync(_dir.Path, SmallSegments))
        {
            await Task.WhenAll(Enumerable.Range(0, 400).Select(i =>
                nv.Pipeline.WriteAsync(Write("w-" + i, WalOperation.Create, "a" + i, new { pad = new string('x', 400) }), Ct)));
            var pipeline = nv.Services.GetRequiredService<WritePipeline>();
            await pipeline.MakeStoresDurableAsync(Ct);
            Assert.True((await pipeline.RunMaintenanceAsync(Ct)).Value > 1, "the test needs a truncated WAL");
        }

        foreach (var file in Directory.GetFiles(_dir.Path, "audit.db*"))
        {
            File.Delete(file);
        }

        var error = await Assert.ThrowsAsync<StoreWalMismatchException>(() => NvTestHost.StartAsync(_dir.Path, SmallSegments));
        Assert.Equal("audit", error.Store);
        Assert.False(error.StoreAhead);
    }

    [Fact]
    public async Task A_database_replaced_by_an_older_copy_refuses_to_start_when_the_wal_no_longer_holds_the_gap()
    {
        var copy = Path.Combine(_dir.Path, "older-nv.db");
        await using (var nv = await NvTestHost.StartAsync(_dir.Path, SmallSegments))
        {
            await nv.Pipeline.WriteAsync(Write("w-first", WalOperation.Create, "first", new { n = 0 }), Ct);
            await nv.Services.GetRequiredService<WritePipeline>().MakeStoresDurableAsync(Ct);
            await using (var source = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_dir.Path, "nv.db")};Mode=ReadOnly;Pooling=False"))
            await using (var target = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={copy};Pooling=False"))
            {
                source.Open();
                target.Open();
                source.BackupDatabase(target);
            }

            await Task.WhenAll(Enumerable.Range(0, 400).Select(i =>
                nv.Pipeline.WriteAsync(Write("w-" + i, WalOperation.Create, "a" + i, new { pad = new string('x', 400) }), Ct)));
            var pipeline = nv.Services.GetRequiredService<WritePipeline>();
            await pipeline.MakeStoresDurableAsync(Ct);
            Assert.True((await pipeline.RunMaintenanceAsync(Ct)).Value > 2, "the test needs a truncated WAL");
        }

        foreach (var file in Directory.GetFiles(_dir.Path, "nv.db*"))
        {
            File.Delete(file);
        }

        File.Move(copy, Path.Combine(_dir.Path, "nv.db"));

        var error = await Assert.ThrowsAsync<StoreWalMismatchException>(() => NvTestHost.StartAsync(_dir.Path, SmallSegments));
        Assert.False(error.StoreAhead);
        Assert.Equal("database", error.Store);
        Assert.Equal(new Lsn(1), error.StoreLsn);
    }

    /// <summary>Was a permanent loss of audit entries: the WAL's watermarks came from watermarks.ckpt (audited 400) and
    /// were never lowered to what the audit store holds (a copy restored at 200); with the store failing during the boot
    /// backfill, the next maintenance pass truncated the WAL through 400, and entries 201-400 could never be written.</summary>
    [Fact]
    public async Task An_audit_store_restored_behind_the_watermark_file_keeps_its_records_in_the_wal_while_it_fails()
    {
        var copy = Path.Combine(_dir.Path, "older-audit.db");
        var settings = new Dictionary<string, string?>(SmallSegments)
        {
            ["Nv:Pipeline:AuditBackfillInterval"] = "01:00:00", // the test runs the backfill itself
        };
        await using (var nv = await NvTestHost.StartAsync(_dir.Path, settings))
        {
            await WriteAsync(nv, 0, 200);
            await nv.Services.GetRequiredService<WritePipeline>().MakeStoresDurableAsync(Ct);
            Backup(Path.Combine(_dir.Path, "audit.db"), copy); // the audit store's backup: entries for LSN 1..200
            await WriteAsync(nv, 200, 400);
            await nv.Services.GetRequiredService<WritePipeline>().MakeStoresDurableAsync(Ct);
        }

        Assert.Equal(new Lsn(400), WatermarkCheckpoint.TryLoad(Path.Combine(_dir.Path, "wal"), out var persisted, out _) switch
        {
            WatermarkCheckpoint.LoadStatus.Loaded => persisted.Audited,
            var status => throw new InvalidOperationException($"watermarks.ckpt: {status}"),
        });
        foreach (var file in Directory.GetFiles(_dir.Path, "audit.db*"))
        {
            File.Delete(file);
        }

        File.Move(copy, Path.Combine(_dir.Path, "audit.db")); // restored: the store holds 200, the watermark file says 400

        // An audit outage from just after the store opened: every append fails (busy, as under another writer's lock).
        var failing = true;
        await using (var nv = await NvTestHost.StartAsync(_dir.Path, settings, services =>
            ((Nv.Audit.Sqlite.SqliteAuditSink)services.GetRequiredService<IAuditSink>()).InjectCommitFailure =
                () => Volatile.Read(ref failing) ? new Microsoft.Data.Sqlite.SqliteException("database is locked", 5) : null))
        {
            var audit = nv.Services.GetRequiredService<IAuditSink>();
            Assert.Equal(new Lsn(200), await audit.GetAuditedThroughAsync(Ct));
            var pipeline = nv.Services.GetRequiredService<WritePipeline>();
            await pipeline.MakeStoresDurableAsync(Ct);
            var first = await pipeline.RunMaintenanceAsync(Ct);

            Assert.True(first.Value is > 1 and <= 201,
                $"the WAL must keep LSN 201 for the audit store (it holds 200) and may drop what is below; it starts at {first}");
            Assert.Contains(nv.Logs.GetSnapshot(), r => r.Id.Id == 3025);

            Volatile.Write(ref failing, false);
            Assert.True(await nv.Services.GetRequiredService<AuditCoordinator>().BackfillAsync(null, null, Ct) >= 200,
                "the backfill writes the entries the restored store lacks");
            Assert.Single((await audit.QueryAsync(new AuditQuery { DtoType = "Account", EntityId = "a399" }, Ct)).Entries);
            Assert.Single((await audit.QueryAsync(new AuditQuery { DtoType = "Account", EntityId = "a200" }, Ct)).Entries);
            Assert.True((await audit.VerifyAsync(Ct)).IsValid);
        }
    }

    private static async Task WriteAsync(NvTestHost nv, int from, int to)
    {
        for (var i = from; i < to; i++)
        {
            Assert.Equal(WriteStatus.Applied, (await nv.Pipeline.WriteAsync(Write("w-" + i, WalOperation.Create, "a" + i, new { pad = new string('x', 400) }), Ct)).Status);
        }
    }

    private static void Backup(string source, string target)
    {
        using var from = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={source};Mode=ReadOnly;Pooling=False");
        using var to = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={target};Pooling=False");
        from.Open();
        to.Open();
        from.BackupDatabase(to);
    }

    public void Dispose() => _dir.Dispose();
}
