using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Nv.Audit;
using Nv.DbWriter;
using Nv.Host.Pipeline;
using Nv.Integration.Tests.Support;
using Nv.Wal;

namespace Nv.Integration.Tests.Pipeline;

/// <summary>Batches on a data directory written before batches existed (commit db3eb26's own <c>nv load</c>, the fixture
/// of StoreMigrationTests): the old format-1 WAL records still decode, the SQLite store gains its batch table in place,
/// and a batch written after them is read back, replayed and audited across a restart.</summary>
public sealed class BatchMigrationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_pre_batch_data_directory_takes_batches_and_its_old_records_still_decode()
    {
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Fixtures", "store-db3eb26"), "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(_dir.Path, Path.GetRelativePath(Path.Combine(AppContext.BaseDirectory, "Fixtures", "store-db3eb26"), file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        Assert.Equal(0, Count("SELECT count(*) FROM sqlite_schema WHERE name = '_nv_batch_resolutions'"));
        BatchOutcome outcome;
        await using (var nv = await NvTestHost.StartAsync(_dir.Path))
        {
            Assert.Equal(0, nv.BootReplay.Replayed);
            outcome = await nv.Pipeline.WriteBatchAsync(new BatchRequest
            {
                RequestId = "batch-after-migration",
                Items =
                [
                    new BatchItem { Operation = BatchOperation.Create, DtoType = "Item", EntityId = "batch-new", Payload = JsonSerializer.SerializeToElement(new { n = 1 }) },
                    new BatchItem { Operation = BatchOperation.Create, DtoType = "Other", EntityId = "o-1", Payload = JsonSerializer.SerializeToElement(new { n = 2 }) },
                ],
            }, Ct);
            Assert.Equal((WriteStatus.Applied, new Lsn(41)), (outcome.Status, outcome.Lsn));
        }

        Assert.Equal(1, Count("SELECT count(*) FROM _nv_batch_resolutions"));
        var records = new List<WalRecord>();
        await using (var wal = WriteAheadLog.Open(new WalOptions { Directory = Path.Combine(_dir.Path, "wal") }))
        {
            await foreach (var record in wal.ReadAsync(new Lsn(1), Ct))
            {
                records.Add(record);
            }
        }

        Assert.Equal(41, records.Count);
        Assert.All(records.Take(40), r => Assert.True(r.Items is null && r.Operation is WalOperation.Create or WalOperation.Update or WalOperation.Delete));
        Assert.Equal((WalOperation.Batch, 2), (records[40].Operation, records[40].Items!.Count));

        await using var again = await NvTestHost.StartAsync(_dir.Path);
        Assert.Equal(0, again.BootReplay.Replayed);
        var db = again.Services.GetRequiredService<IDbWriter>();
        Assert.Equal(new Lsn(41), (await db.GetAsync("Other", "o-1", Ct))!.Lsn);
        var audit = again.Services.GetRequiredService<IAuditSink>();
        var page = await audit.QueryAsync(new AuditQuery { RequestId = "batch-after-migration" }, Ct);
        Assert.Equal(records[40].Items!.Select(i => i.Id).Order(), page.Entries.Select(e => e.Id).Order());
        var verified = await ((IAuditProofs)audit).VerifyAsync(null, Ct);
        Assert.True(verified.IsValid, verified.Reason);
    }

    private long Count(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_dir.Path, "nv.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public void Dispose() => _dir.Dispose();
}
