using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using Nv.DbWriter;
using Nv.DbWriter.Sqlite;
using Nv.Integration.Tests.Support;
using Nv.Wal;
using static Nv.Integration.Tests.Support.WalRecords;

namespace Nv.Integration.Tests.Sqlite;

/// <summary><see cref="DbWriterOptions.ReadOnly"/>: an existing store is read as it is, nothing is created beside it (no
/// <c>-wal</c>, no <c>-shm</c>), every write is refused, and a missing store is refused instead of created.</summary>
public sealed class SqliteReadOnlyStoreTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task A_read_only_open_reads_the_store_refuses_writes_and_leaves_every_file_as_it_was()
    {
        await using (var writer = DbWriters.OpenSqlite(new DbWriterOptions { DataDirectory = _directory.Path }))
        {
            await writer.ApplyAsync([Create(1, "o1", """{"n":1}"""), Create(2, "o2", """{"n":2}""")], Ct);
            await writer.MakeDurableAsync(Ct);
        }

        SqliteConnection.ClearAllPools();
        var before = Snapshot(_directory.Path);

        await using (var readOnly = new SqliteDbWriter(new DbWriterOptions { DataDirectory = _directory.Path, ReadOnly = true }))
        {
            await readOnly.InitializeAsync(Ct);
            Assert.Equal(new Lsn(2), await readOnly.GetResolvedThroughAsync(Ct));
            Assert.NotNull(await readOnly.GetAsync(DefaultType, "o2", Ct));
            Assert.Equal(2, (await readOnly.GetResolutionsAsync(Lsn.None, 10, Ct)).Count);
            var refused = await Assert.ThrowsAsync<DbWriterException>(() => readOnly.ApplyAsync([Create(3, "o3", """{"n":3}""")], Ct));
            Assert.Equal(DbErrorClass.Unwritable, refused.ErrorClass);
        }

        SqliteConnection.ClearAllPools();
        Assert.Equal(before, Snapshot(_directory.Path));
    }

    /// <summary>An older schema version is refused as it is (a read-write open would migrate it): a
    /// <see cref="StoreSchemaException"/>, which the CLI reports as bad input (exit 2) naming the way forward.</summary>
    [Fact]
    public async Task A_read_only_open_of_an_older_schema_is_refused_and_migrates_nothing()
    {
        await using (var writer = DbWriters.OpenSqlite(new DbWriterOptions { DataDirectory = _directory.Path }))
        {
            await writer.ApplyAsync([Create(1, "o1", """{"n":1}""")], Ct);
            await writer.MakeDurableAsync(Ct);
        }

        var path = Path.Combine(_directory.Path, new DbWriterOptions().SqliteFileName);
        using (var raw = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString()))
        {
            raw.Open();
            using var command = raw.CreateCommand();
            command.CommandText = "UPDATE _nv_meta SET value = 4 WHERE key = 'schema_version'";
            command.ExecuteNonQuery();
        }

        var before = Snapshot(_directory.Path);
        await using (var readOnly = new SqliteDbWriter(new DbWriterOptions { DataDirectory = _directory.Path, ReadOnly = true }))
        {
            var error = await Assert.ThrowsAsync<StoreSchemaException>(() => readOnly.InitializeAsync(Ct));
            Assert.Equal((4L, 5L, Path.GetFullPath(path)), (error.Version, error.ReadableVersion, error.Path));
        }

        SqliteConnection.ClearAllPools();
        Assert.Equal(before, Snapshot(_directory.Path));
    }

    [Fact]
    public async Task A_read_only_open_of_a_missing_store_creates_nothing()
    {
        var missing = Path.Combine(_directory.Path, "mistyped");
        await using var readOnly = new SqliteDbWriter(new DbWriterOptions { DataDirectory = missing, ReadOnly = true });

        await Assert.ThrowsAsync<DbWriterException>(() => readOnly.InitializeAsync(Ct));

        Assert.False(Directory.Exists(missing));
    }

    private static SortedDictionary<string, string> Snapshot(string root) => new(
        Directory.GetFiles(root, "*", SearchOption.AllDirectories).ToDictionary(
            f => Path.GetRelativePath(root, f),
            f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)))),
        StringComparer.Ordinal);
}
