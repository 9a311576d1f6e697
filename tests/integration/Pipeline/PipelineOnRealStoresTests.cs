using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Nv.Audit;
using Nv.DbWriter;
using Nv.Host.Pipeline;
using Nv.Integration.Tests.Support;
using Nv.Wal;

namespace Nv.Integration.Tests.Pipeline;

/// <summary>The write pipeline over the real FasterLog WAL, SQLite store and SQLite audit trail.</summary>
public sealed class PipelineOnRealStoresTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static WriteRequest Write(string requestId, WalOperation operation, string entityId, object? payload = null) => new()
    {
        RequestId = requestId,
        Operation = operation,
        DtoType = "Account",
        EntityId = entityId,
        Payload = payload is null ? null : JsonSerializer.SerializeToElement(payload),
        UserId = "alice",
        Reason = "test",
        Metadata = new Dictionary<string, string> { ["ticket"] = "T-1" },
    };

    [Fact]
    public async Task A_write_is_in_the_wal_the_database_and_the_audit_trail_with_before_and_after()
    {
        await using (var nv = await NvTestHost.StartAsync(_dir.Path))
        {
            var created = await nv.Pipeline.WriteAsync(Write("r1", WalOperation.Create, "a1", new { balance = 10 }), Ct);
            var updated = await nv.Pipeline.WriteAsync(Write("r2", WalOperation.Update, "a1", new { balance = 25 }), Ct);
            Assert.Equal(WriteStatus.Applied, created.Status);
            Assert.Equal(WriteStatus.Applied, updated.Status);

            var stored = await nv.Services.GetRequiredService<IDbWriter>().GetAsync("Account", "a1", Ct);
            Assert.Equal(25, stored!.Document.GetProperty("balance").GetInt32());
            Assert.Equal(updated.Lsn, stored.Lsn);

            var audit = nv.Services.GetRequiredService<IAuditSink>();
            var page = await audit.QueryAsync(new AuditQuery { RequestId = "r2" }, Ct);
            var entry = Assert.Single(page.Entries);
            Assert.Equal(10, entry.Before!.Value.GetProperty("balance").GetInt32());
            Assert.Equal(25, entry.After!.Value.GetProperty("balance").GetInt32());
            Assert.Equal("alice", entry.UserId);
            Assert.Equal("T-1", entry.Metadata["ticket"]);
            Assert.Contains(entry.Changes, c => c.Path == "/balance");
            Assert.Equal(updated.Lsn, entry.Lsn);
        }

        // After a clean stop nothing is left to replay, and the audit trail holds start/stop entries and verifies.
        await using var again = await NvTestHost.StartAsync(_dir.Path);
        Assert.Equal(0, again.BootReplay.Replayed);
        var sink = again.Services.GetRequiredService<IAuditSink>();
        var lifecycle = await sink.QueryAsync(new AuditQuery { Category = AuditCategory.ServiceStartStop, Limit = 10 }, Ct);
        Assert.True(lifecycle.Entries.Count >= 3, "service-start, service-stop, service-start expected");
        Assert.True((await sink.VerifyAsync(Ct)).IsValid);
    }

    [Fact]
    public async Task A_retried_request_id_after_a_restart_returns_the_first_outcome_and_appends_nothing()
    {
        WriteOutcome first;
        await using (var nv = await NvTestHost.StartAsync(_dir.Path))
        {
            first = await nv.Pipeline.WriteAsync(Write("once", WalOperation.Create, "a1", new { v = 1 }), Ct);
        }

        await using var restarted = await NvTestHost.StartAsync(_dir.Path);
        var wal = restarted.Services.GetRequiredService<IWriteAheadLog>();
        var before = wal.LastLsn;
        var retry = await restarted.Pipeline.WriteAsync(Write("once", WalOperation.Create, "a1", new { v = 1 }), Ct);

        Assert.True(retry.IsReplay);
        Assert.Equal(first.Lsn, retry.Lsn);
        Assert.Equal(WriteStatus.Applied, retry.Status);
        Assert.Equal(before, wal.LastLsn);
        var stored = await restarted.Services.GetRequiredService<IDbWriter>().GetAsync("Account", "a1", Ct);
        Assert.Equal(1, stored!.Document.GetProperty("v").GetInt32());
    }

    [Fact]
    public async Task A_locked_database_answers_pending_with_the_lsn_and_the_write_applies_once_it_is_released()
    {
        await using var nv = await NvTestHost.StartAsync(_dir.Path, new Dictionary<string, string?> { ["Nv:DbWriter:SqliteBusyTimeout"] = "00:00:01" });
        WriteOutcome pending;
        using (var holder = new SqliteConnection($"Data Source={Path.Combine(_dir.Path, "nv.db")};Pooling=False"))
        {
            holder.Open();
            using (var lockIt = holder.CreateCommand())
            {
                lockIt.CommandText = "BEGIN IMMEDIATE;";
                lockIt.ExecuteNonQuery();
            }

            pending = await nv.Pipeline.WriteAsync(Write("while-locked", WalOperation.Create, "a9", new { v = 9 }), Ct);
        }

        Assert.Equal(WriteStatus.Pending, pending.Status);
        Assert.True(pending.Lsn.Value > 0);
        Assert.Contains("durable in the WAL at LSN " + pending.Lsn, pending.Detail, StringComparison.Ordinal);

        var db = nv.Services.GetRequiredService<IDbWriter>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        StoredEntity? stored;
        while ((stored = await db.GetAsync("Account", "a9", Ct)) is null)
        {
            Assert.True(DateTime.UtcNow < deadline, "the background applier did not apply the pending write");
            await Task.Delay(50, Ct);
        }

        Assert.Equal(pending.Lsn, stored.Lsn);
        var retry = await nv.Pipeline.WriteAsync(Write("while-locked", WalOperation.Create, "a9", new { v = 9 }), Ct);
        Assert.Equal(WriteStatus.Applied, retry.Status);
        Assert.Equal(pending.Lsn, retry.Lsn);
    }

    [Fact]
    public async Task Rejected_writes_are_durable_outcomes_and_never_audited()
    {
        await using var nv = await NvTestHost.StartAsync(_dir.Path);
        await nv.Pipeline.WriteAsync(Write("c1", WalOperation.Create, "a1", new { v = 1 }), Ct);
        var conflict = await nv.Pipeline.WriteAsync(Write("c2", WalOperation.Create, "a1", new { v = 2 }), Ct);
        var missing = await nv.Pipeline.WriteAsync(Write("c3", WalOperation.Delete, "zz"), Ct);

        Assert.Equal((WriteStatus.Rejected, RejectReason.AlreadyExists), (conflict.Status, conflict.RejectReason));
        Assert.Equal((WriteStatus.Rejected, RejectReason.NotFound), (missing.Status, missing.RejectReason));
        var audit = nv.Services.GetRequiredService<IAuditSink>();
        Assert.Empty((await audit.QueryAsync(new AuditQuery { RequestId = "c2" }, Ct)).Entries);
        Assert.Empty((await audit.QueryAsync(new AuditQuery { RequestId = "c3" }, Ct)).Entries);
    }

    [Fact]
    public async Task Invalid_input_writes_nothing_anywhere()
    {
        await using var nv = await NvTestHost.StartAsync(_dir.Path);
        var wal = nv.Services.GetRequiredService<IWriteAheadLog>();
        var hostile = new[]
        {
            Write("h1", WalOperation.Create, "a1", new Dictionary<string, object> { ["$where"] = "1" }),
            Write("h2", WalOperation.Create, "a1", new Dictionary<string, object> { ["a.b"] = 1 }),
            Write("h3", WalOperation.Create, "a1", new Dictionary<string, object> { ["a\0"] = 1 }),
            Write("h4", WalOperation.Create, new string('x', 5000), new { v = 1 }),
            Write("h5", WalOperation.Create, "a1") with { DtoType = "Robert'); DROP TABLE x;--" },
            Write("h6", WalOperation.Create, "a1", new { big = new string('x', 300_000) }),
        };
        foreach (var request in hostile)
        {
            await Assert.ThrowsAsync<WriteValidationException>(() => nv.Pipeline.WriteAsync(request, Ct));
        }

        Assert.Equal(Lsn.None, wal.LastLsn);
    }

    [Fact]
    public async Task Rotation_removes_segments_both_watermarks_passed_and_purges_their_resolutions()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Nv:Wal:SegmentSizeBits"] = "16",
            ["Nv:Wal:PageSizeBits"] = "12",
            ["Nv:Wal:MemorySizeBits"] = "14",
            ["Nv:Wal:MaxRecordBytes"] = "4000",
            ["Nv:Pipeline:MaxPayloadBytes"] = "1024", // with the largest ids it must still fit a record
            ["Nv:Pipeline:MaxBatchBytes"] = "4000", // a batch is one record too
        };
        await using var nv = await NvTestHost.StartAsync(_dir.Path, settings);
        await Task.WhenAll(Enumerable.Range(0, 400).Select(i =>
            nv.Pipeline.WriteAsync(Write("rot-" + i, WalOperation.Create, "a" + i, new { pad = new string('x', 400) }), Ct)));

        var pipeline = nv.Services.GetRequiredService<WritePipeline>();
        await pipeline.MakeStoresDurableAsync(Ct); // only durable positions let the WAL go
        var first = await pipeline.RunMaintenanceAsync(Ct);

        Assert.True(first.Value > 1, $"expected the WAL to drop its first segments, first LSN is {first}");
        var db = nv.Services.GetRequiredService<IDbWriter>();
        Assert.Empty(await db.GetResolutionsAsync(Lsn.None, 1, Ct));
        Assert.NotNull(await db.FindByRequestIdAsync("rot-399", Ct) ?? await db.FindByRequestIdAsync("rot-0", Ct));
        Assert.NotNull(await db.GetAsync("Account", "a0", Ct));
    }

    public void Dispose() => _dir.Dispose();
}
