using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Nv.Audit;
using Nv.DbWriter;
using Nv.Host.Pipeline;
using Nv.Integration.Tests.Support;
using Nv.Wal;

namespace Nv.Integration.Tests.Pipeline;

/// <summary>A data directory written by the code before the WAL-based write path (commit db3eb26: audit store schema 2,
/// both stores at synchronous=FULL, the WAL's watermark file as the only position record) opens with today's code:
/// the audit store is migrated in place, nothing is replayed or lost, the trail and its signed checkpoints verify, and
/// writes continue the same chain.</summary>
/// <remarks>The fixture (tests/integration/Fixtures/store-db3eb26) was made by that commit's own executable:
/// <c>NV_SERVICE=svc NV_ENV=test nv load --count 40 --writers 4 --entities 10 --seed 7 --run-id fx</c>, then a clean stop.</remarks>
public sealed class StoreMigrationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_store_written_by_the_previous_schema_opens_migrated_and_keeps_its_chain()
    {
        CopyFixture(Path.Combine(AppContext.BaseDirectory, "Fixtures", "store-db3eb26"), _dir.Path);
        var entityRows = Count(Path.Combine(_dir.Path, "nv.db"), "SELECT count(*) FROM Item WHERE _nv_deleted = 0");
        var entries = Count(Path.Combine(_dir.Path, "audit.db"), "SELECT count(*) FROM audit_entries");
        Assert.Equal(2, Count(Path.Combine(_dir.Path, "audit.db"), "PRAGMA user_version"));

        await using (var nv = await NvTestHost.StartAsync(_dir.Path))
        {
            Assert.Equal(0, nv.BootReplay.Replayed);
            Assert.Equal(0, nv.BootReplay.AuditBackfilled);
            var db = nv.Services.GetRequiredService<IDbWriter>();
            Assert.Equal(new Lsn(40), await db.GetResolvedThroughAsync(Ct));
            var proofs = (IAuditProofs)nv.Services.GetRequiredService<IAuditSink>();
            var verified = await proofs.VerifyAsync(null, Ct);
            Assert.True(verified.IsValid, verified.Reason);
            // + this start's environment-change entry (its last start recorded no environment) and its service-start entry
            Assert.Equal(entries + 2, verified.EntriesChecked);

            var next = await nv.Pipeline.WriteAsync(new WriteRequest
            {
                RequestId = "after-migration",
                Operation = WalOperation.Create,
                DtoType = "Item",
                EntityId = "new-1",
                Payload = JsonSerializer.SerializeToElement(new { n = 1 }),
            }, Ct);
            Assert.Equal(new Lsn(41), next.Lsn);
        }

        var audit = Path.Combine(_dir.Path, "audit.db");
        Assert.Equal(Nv.Audit.Sqlite.SqliteAuditSchema.Version, Count(audit, "PRAGMA user_version"));
        Assert.Equal(41, Count(audit, "SELECT value FROM audit_meta WHERE key = 'audited_through'"));
        Assert.Equal(entityRows + 1, Count(Path.Combine(_dir.Path, "nv.db"), "SELECT count(*) FROM Item WHERE _nv_deleted = 0"));
        await using var again = await NvTestHost.StartAsync(_dir.Path);
        Assert.Equal(0, again.BootReplay.Replayed);
        var final = await ((IAuditProofs)again.Services.GetRequiredService<IAuditSink>()).VerifyAsync(null, Ct);
        Assert.True(final.IsValid, final.Reason);
    }

    /// <summary>The fixture tests/integration/Fixtures/store-ba79c82 was made by commit ba79c82's executable (audit store
    /// schema 3): <c>NV_SERVICE=svc NV_ENV=test nv load --count 40 --writers 4 --entities 10 --seed 7 --run-id fx3</c>, then
    /// a clean stop.</summary>
    [Fact]
    public async Task A_schema_3_audit_store_is_migrated_through_4_and_5_in_place_and_keeps_its_chain()
    {
        CopyFixture(Path.Combine(AppContext.BaseDirectory, "Fixtures", "store-ba79c82"), _dir.Path);
        var audit = Path.Combine(_dir.Path, "audit.db");
        Assert.Equal(3, Count(audit, "PRAGMA user_version"));
        var entries = Count(audit, "SELECT count(*) FROM audit_entries");
        var checkpoints = Count(audit, "SELECT count(*) FROM audit_checkpoints");
        Assert.Equal(1, Count(audit, "SELECT count(*) FROM sqlite_master WHERE name = 'ix_audit_entries_entity'"));

        await using (var nv = await NvTestHost.StartAsync(_dir.Path))
        {
            Assert.Equal(0, nv.BootReplay.Replayed);
            Assert.Equal(0, nv.BootReplay.AuditBackfilled);
            var proofs = (IAuditProofs)nv.Services.GetRequiredService<IAuditSink>();
            var verified = await proofs.VerifyAsync(null, Ct);
            Assert.True(verified.IsValid, verified.Reason);
            Assert.True(verified.EntriesChecked > entries, "this start's own entries follow the migrated ones");
            Assert.True(verified.CheckpointsChecked >= checkpoints);

            var next = await nv.Pipeline.WriteAsync(new WriteRequest
            {
                RequestId = "after-migration-4",
                Operation = WalOperation.Create,
                DtoType = "Item",
                EntityId = "new-4",
                Payload = JsonSerializer.SerializeToElement(new { n = 4 }),
            }, Ct);
            Assert.Equal(new Lsn(41), next.Lsn);
            var history = await nv.Services.GetRequiredService<IAuditSink>().QueryAsync(new AuditQuery { DtoType = "Item", EntityId = "e3" }, Ct);
            Assert.NotEmpty(history.Entries);
        }

        // One line of migrations: 4 (composite indexes, retention) then 5 (encryption at rest: key_id, sealed).
        Assert.Equal(5, Nv.Audit.Sqlite.SqliteAuditSchema.Version);
        Assert.Equal(5, Count(audit, "PRAGMA user_version"));
        Assert.Equal(2, Count(audit, "SELECT count(*) FROM pragma_table_info('audit_entries') WHERE name IN ('key_id', 'sealed')"));
        foreach (var gone in new[] { "ix_audit_entries_entity", "ix_audit_entries_user_id" })
        {
            Assert.Equal(0, Count(audit, $"SELECT count(*) FROM sqlite_master WHERE name = '{gone}'"));
        }

        foreach (var added in new[] { "ix_audit_entries_entity_time", "ix_audit_entries_user_time", "ix_audit_entries_category_time", "audit_archives", "audit_pruned" })
        {
            Assert.Equal(1, Count(audit, $"SELECT count(*) FROM sqlite_master WHERE name = '{added}'"));
        }

        // The migrated delete trigger still refuses every entry no archive covers.
        using (var raw = new SqliteConnection($"Data Source={audit};Pooling=False"))
        {
            raw.Open();
            using var delete = raw.CreateCommand();
            delete.CommandText = "DELETE FROM audit_entries WHERE sequence = 1";
            var refused = Assert.Throws<SqliteException>(() => delete.ExecuteNonQuery());
            Assert.Contains("immutable", refused.Message, StringComparison.Ordinal);
        }

        await using var again = await NvTestHost.StartAsync(_dir.Path);
        var final = await ((IAuditProofs)again.Services.GetRequiredService<IAuditSink>()).VerifyAsync(null, Ct);
        Assert.True(final.IsValid, final.Reason);
    }

    private static long Count(string file, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={file};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void CopyFixture(string from, string to)
    {
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    public void Dispose() => _dir.Dispose();
}
