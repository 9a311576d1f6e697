using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using Nv.Audit;
using Nv.Audit.Sqlite;
using Nv.Wal;

namespace Nv.Integration.Tests.Audit;

/// <summary><see cref="AuditOptions.ReadOnly"/>: the recorded position and the entries are read, no signing key is loaded
/// or generated, writes are refused, a missing store is refused instead of created, and no file changes (but SQLite's
/// shared-memory index <c>-shm</c>, which a reader going through the store's <c>-wal</c> file may update).</summary>
public sealed class SqliteAuditReadOnlyTests : AuditStoreFixture
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_read_only_open_reads_the_position_and_the_entries_and_changes_no_file()
    {
        Assert.Equal(2, await Sink.AppendAsync([Entry(entityId: "a"), Entry(entityId: "b")], new Lsn(2), Ct));
        await Sink.DisposeAsync();
        SqliteConnection.ClearAllPools();
        foreach (var key in System.IO.Directory.GetFiles(base.Directory, "audit-signing-key*"))
        {
            File.Delete(key); // a read-only open must not generate one
        }

        var before = Snapshot(base.Directory);
        await using (var readOnly = new SqliteAuditSink(new AuditOptions { DataDirectory = base.Directory, ReadOnly = true }))
        {
            await readOnly.InitializeAsync(Ct);
            Assert.Equal(new Lsn(2), await readOnly.GetAuditedThroughAsync(Ct));
            Assert.Equal(2, (await readOnly.QueryAsync(new AuditQuery { Limit = 10 }, Ct)).Entries.Count);
            await Assert.ThrowsAsync<InvalidOperationException>(() => readOnly.AppendAsync([Entry(entityId: "c")], new Lsn(3), Ct));
            await Assert.ThrowsAsync<InvalidOperationException>(() => readOnly.MakeDurableAsync(Ct));
        }

        SqliteConnection.ClearAllPools();
        Assert.Equal(before, Snapshot(base.Directory));
    }

    [Fact]
    public async Task A_read_only_open_of_a_missing_store_creates_nothing()
    {
        var missing = Path.Combine(base.Directory, "mistyped");
        await using var readOnly = new SqliteAuditSink(new AuditOptions { DataDirectory = missing, ReadOnly = true });

        await Assert.ThrowsAsync<InvalidOperationException>(() => readOnly.InitializeAsync(Ct));

        Assert.False(System.IO.Directory.Exists(missing));
    }

    private static SortedDictionary<string, string> Snapshot(string root) => new(
        System.IO.Directory.GetFiles(root, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith("-shm", StringComparison.Ordinal))
            .ToDictionary(f => Path.GetRelativePath(root, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)))),
        StringComparer.Ordinal);
}
