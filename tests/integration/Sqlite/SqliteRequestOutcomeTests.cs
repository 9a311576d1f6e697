using Microsoft.Data.Sqlite;
using Nv.DbWriter;
using Nv.DbWriter.Sqlite;
using Nv.Integration.Tests.Support;
using Nv.Wal;
using static Nv.Integration.Tests.Support.WalRecords;

namespace Nv.Integration.Tests.Sqlite;

/// <summary>The SQLite store's request outcomes (schema version 2): migration of stores written by schema 1, damaged
/// rows, a future version, and that an outcome commits with its write or not at all.</summary>
public sealed class SqliteRequestOutcomeTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    private DbWriterOptions Options => new() { DataDirectory = _directory.Path, SqliteFileName = "nv.db" };

    private string DbPath => Path.Combine(_directory.Path, "nv.db");

    private void Execute(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={DbPath};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private object? Scalar(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={DbPath};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    // nv.db as written by `nv load --count 12 --entities 4 --writers 1 --seed 7 --run-id v1` on the build before request
    // outcomes (main at 4a74d75, schema version 1): 12 records, LSN 1..12, request ids v1-0-0..v1-0-11; v1-0-9 (LSN 10)
    // applied, v1-0-1 (LSN 2) rejected as not found; entities Item/e0, e1, e3.
    // nv.db as written by the build before schema 4 (main at 77cfd9f, schema version 3): `nv load --count 12 --entities 4
    // --writers 1 --seed 7 --run-id v3`, then `nv load --count 4 --entities 4 --writers 1 --seed 7 --run-id v3b --batch-size 2`:
    // single records LSN 1..12 (v3-0-0..v3-0-11; v3-0-9 at LSN 10 rejected), batches LSN 13..16 (v3b-0-0..v3b-0-3, applied),
    // 12 request outcomes (none for the batches), and the request-id index on _nv_resolutions.
    // nv.db as written by the build before schema 5 (main at 352c334, schema version 4), by its own DbWriter: LSN 1 a create
    // (s4-1), LSN 2 an audit event (s4-ev, record id WalRecords.IdFor(2)), LSN 3 a batch rejected at item 1 (s4-b: it
    // creates b, then a again), LSN 4 an applied batch (s4-ok); all by caller u1.
    private static string SchemaFourFixture => Path.Combine(RepoRoot(), "tests", "integration", "Sqlite", "Fixtures", "nv-schema4.db");

    private static string SchemaThreeFixture => Path.Combine(RepoRoot(), "tests", "integration", "Sqlite", "Fixtures", "nv-schema3.db");

    private static string SchemaOneFixture => Path.Combine(RepoRoot(), "tests", "integration", "Sqlite", "Fixtures", "nv-schema1.db");

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Nv.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Nv.sln not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public async Task A_store_written_by_schema_1_is_migrated_in_place_and_its_outcomes_answer_retries_from_any_caller()
    {
        File.Copy(SchemaOneFixture, DbPath);
        Assert.Equal(1L, Scalar("SELECT value FROM _nv_meta WHERE key = 'schema_version'"));

        await using (var writer = DbWriters.OpenSqlite(Options))
        {
            Assert.Equal(5L, Scalar("SELECT value FROM _nv_meta WHERE key = 'schema_version'"));
            Assert.Equal(12L, Scalar("SELECT count(*) FROM _nv_requests WHERE scope IS NULL AND fingerprint IS NULL"));

            var found = await writer.FindRequestsAsync([new RequestKey("anyone", "v1-0-9"), new RequestKey("", "v1-0-1"), new RequestKey("x", "nope")], Ct);
            Assert.Equal(2, found.Count);
            var applied = found[new RequestKey("anyone", "v1-0-9")];
            Assert.Equal((new Lsn(10), ApplyStatus.Applied, (string?)null, (string?)null), (applied.Lsn, applied.Status, applied.Scope, applied.Fingerprint));
            var rejected = found[new RequestKey("", "v1-0-1")];
            Assert.Equal((new Lsn(2), ApplyStatus.Rejected, RejectReason.NotFound), (rejected.Lsn, rejected.Status, rejected.RejectReason));
            Assert.True(DateTimeOffset.UtcNow - applied.CreatedAt < TimeSpan.FromMinutes(5), "kept for one retention window from the migration");

            // The migrated store goes on: entities written by schema 1 are readable, new applies record scoped outcomes.
            Assert.Equal(new Lsn(12), await writer.GetResolvedThroughAsync(Ct));
            Assert.NotNull(await writer.GetAsync("Item", "e0", Ct));
            var results = await writer.ApplyAsync([Create(13, "e9", "{}", dtoType: "Item", requestId: "v2-0") with { UserId = "alice" }], Ct);
            Assert.Equal(ApplyStatus.Applied, Assert.Single(results).Status);
            Assert.Equal("alice", (await writer.FindRequestsAsync([new RequestKey("alice", "v2-0")], Ct))[new RequestKey("alice", "v2-0")].Scope);
        }

        // A second open finds version 2 and migrates nothing again.
        await using (var again = DbWriters.OpenSqlite(Options))
        {
            Assert.Equal(13L, Scalar("SELECT count(*) FROM _nv_requests"));
            Assert.Equal(5L, Scalar("SELECT value FROM _nv_meta WHERE key = 'schema_version'"));
        }
    }

    [Fact]
    public async Task A_store_written_by_schema_3_loses_the_request_id_index_and_gains_its_batches_outcomes()
    {
        File.Copy(SchemaThreeFixture, DbPath);
        Assert.Equal(3L, Scalar("SELECT value FROM _nv_meta WHERE key = 'schema_version'"));
        Assert.Equal(12L, Scalar("SELECT count(*) FROM _nv_requests"));

        await using (var writer = DbWriters.OpenSqlite(Options))
        {
            Assert.Equal(5L, Scalar("SELECT value FROM _nv_meta WHERE key = 'schema_version'"));
            Assert.Equal(0L, Scalar("SELECT count(*) FROM pragma_index_list('_nv_resolutions') WHERE name = '_nv_resolutions_request_id'"));
            Assert.Equal(4L, Scalar("SELECT count(*) FROM _nv_requests WHERE scope IS NULL AND operation = 4 AND fingerprint IS NULL"));

            // A retry of a batch written by schema 3 is found, for any caller (its caller was not stored).
            var batch = (await writer.FindRequestsAsync([new RequestKey("anyone", "v3b-0-1")], Ct))[new RequestKey("anyone", "v3b-0-1")];
            Assert.Equal((new Lsn(14), ApplyStatus.Applied, (string?)null), (batch.Lsn, batch.Status, batch.Scope));

            // Lookups by request id go through the outcomes now, single records and batches alike.
            Assert.Equal((new Lsn(10), ApplyStatus.Rejected), ((await writer.FindByRequestIdAsync("v3-0-9", Ct))!.Lsn, (await writer.FindByRequestIdAsync("v3-0-9", Ct))!.Status));
            var found = await writer.FindByRequestIdsAsync(["v3-0-0", "v3b-0-3", "nope"], Ct);
            Assert.Equal([1L, 16L], found.Values.Select(r => r.Lsn.Value).Order());
            Assert.Equal(2, (await writer.FindByRequestIdAsync("v3b-0-3", Ct))!.Items!.Count);
            Assert.Equal(new Lsn(16), await writer.GetResolvedThroughAsync(Ct));
        }

        await using (var again = DbWriters.OpenSqlite(Options))
        {
            Assert.Equal(16L, Scalar("SELECT count(*) FROM _nv_requests"));
            Assert.Equal(5L, Scalar("SELECT value FROM _nv_meta WHERE key = 'schema_version'"));
        }
    }

    [Fact]
    public async Task A_store_written_by_schema_4_keeps_failed_items_and_record_ids_in_its_outcomes()
    {
        File.Copy(SchemaFourFixture, DbPath);
        Assert.Equal(4L, Scalar("SELECT value FROM _nv_meta WHERE key = 'schema_version'"));
        var keys = new[] { new RequestKey("u1", "s4-1"), new RequestKey("u1", "s4-ev"), new RequestKey("u1", "s4-b"), new RequestKey("u1", "s4-ok") };

        await using (var writer = DbWriters.OpenSqlite(Options))
        {
            Assert.Equal(5L, Scalar("SELECT value FROM _nv_meta WHERE key = 'schema_version'"));
            var found = await writer.FindRequestsAsync(keys, Ct);
            Assert.Equal(((int?)null, (Guid?)null), (found[keys[0]].FailedItem, found[keys[0]].RecordId));
            Assert.Equal(((int?)null, (Guid?)WalRecords.IdFor(2)), (found[keys[1]].FailedItem, found[keys[1]].RecordId));
            Assert.Equal((ApplyStatus.Rejected, (int?)1, (Guid?)null), (found[keys[2]].Status, found[keys[2]].FailedItem, found[keys[2]].RecordId));
            Assert.Equal((ApplyStatus.Applied, (int?)null), (found[keys[3]].Status, found[keys[3]].FailedItem));

            // Carried over from the resolutions: the outcomes answer by themselves once those are purged with the WAL.
            await writer.PurgeAsync(new Lsn(4), Ct);
            Assert.Equal(0L, Scalar("SELECT count(*) FROM _nv_batch_resolutions"));
            var after = await writer.FindRequestsAsync(keys, Ct);
            Assert.Equal(((int?)1, (Guid?)WalRecords.IdFor(2)), (after[keys[2]].FailedItem, after[keys[1]].RecordId));

            // New outcomes keep them as they are written.
            var results = await writer.ApplyAsync([BatchRecords.Batch(5, BatchRecords.Create(5, 0, "n", "{}"), BatchRecords.Update(5, 1, "missing", "{}"))
                with { RequestId = "s5-b", UserId = "u1" }], Ct);
            Assert.Equal((ApplyStatus.Rejected, (int?)1), (results[0].Status, results[0].FailedItem));
            Assert.Equal(1, (await writer.FindRequestsAsync([new RequestKey("u1", "s5-b")], Ct)).Values.Single().FailedItem);
        }

        // A second open finds version 5 and migrates nothing again.
        await using (var again = DbWriters.OpenSqlite(Options))
        {
            Assert.Equal(5L, Scalar("SELECT value FROM _nv_meta WHERE key = 'schema_version'"));
            Assert.Equal(1, (await again.FindRequestsAsync([keys[2]], Ct)).Values.Single().FailedItem);
        }
    }

    [Fact]
    public async Task A_caller_s_own_outcome_wins_over_a_migrated_unscoped_one()
    {
        File.Copy(SchemaOneFixture, DbPath);
        await using var writer = DbWriters.OpenSqlite(Options);
        await writer.ApplyAsync([Create(13, "e9", "{}", dtoType: "Item", requestId: "v1-0-9") with { UserId = "bob" }], Ct);

        var found = await writer.FindRequestsAsync([new RequestKey("bob", "v1-0-9"), new RequestKey("alice", "v1-0-9")], Ct);
        Assert.Equal(new Lsn(13), found[new RequestKey("bob", "v1-0-9")].Lsn);
        Assert.Equal(new Lsn(10), found[new RequestKey("alice", "v1-0-9")].Lsn);
    }

    [Theory]
    [InlineData("UPDATE _nv_requests SET fingerprint = x'0102030405' WHERE lsn = 1", "fingerprint")]
    [InlineData("UPDATE _nv_requests SET fingerprint = 'not a blob' WHERE lsn = 1", "wrong type")]
    [InlineData("UPDATE _nv_requests SET status = 99 WHERE lsn = 1", "status 99")]
    [InlineData("UPDATE _nv_requests SET reject_reason = 42 WHERE lsn = 1", "reject reason 42")]
    [InlineData("UPDATE _nv_requests SET operation = 9 WHERE lsn = 1", "operation 9")]
    [InlineData("UPDATE _nv_requests SET failed_item = 0 WHERE lsn = 1", "failed item 0")]
    [InlineData("UPDATE _nv_requests SET operation = 4, status = 3, failed_item = -2 WHERE lsn = 1", "failed item -2")]
    [InlineData("UPDATE _nv_requests SET record_id = x'0102' WHERE lsn = 1", "record id")]
    [InlineData("UPDATE _nv_requests SET operation = 5, record_id = 'text' WHERE lsn = 1", "wrong type")]
    public async Task A_damaged_outcome_row_is_reported_as_corruption_never_answered(string damage, string expected)
    {
        await using (var writer = DbWriters.OpenSqlite(Options))
        {
            await writer.ApplyAsync([Create(1, "o1", "{}", requestId: "r1") with { Fingerprint = new string('a', 64) }], Ct);
        }

        Execute(damage);
        await using var reopened = DbWriters.OpenSqlite(Options);
        var failure = await Assert.ThrowsAsync<DbWriterException>(() => reopened.FindRequestsAsync([new RequestKey("", "r1")], Ct));
        Assert.Equal(DbErrorClass.Corruption, failure.ErrorClass);
        Assert.Contains(expected, failure.Message, StringComparison.Ordinal);
        Assert.Contains("LSN 1", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_store_of_a_newer_schema_version_is_refused_at_open()
    {
        await using (DbWriters.OpenSqlite(Options))
        {
        }

        Execute("UPDATE _nv_meta SET value = 6 WHERE key = 'schema_version'");
        var failure = Assert.Throws<DbWriterException>(() => DbWriters.OpenSqlite(Options));
        Assert.False(failure.IsTransient);
        Assert.Contains("schema version 6", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_outcome_commits_with_its_write_or_not_at_all()
    {
        await using var writer = (SqliteDbWriter)DbWriters.OpenSqlite(Options);
        await writer.ApplyAsync([Create(1, "o1", "{}", requestId: "r1")], Ct);
        using (var command = writer.Connection.CreateCommand())
        {
            command.CommandText = "SELECT page_count FROM pragma_page_count";
            var pages = (long)command.ExecuteScalar()!;
            command.CommandText = $"PRAGMA max_page_count={pages}";
            command.ExecuteNonQuery();
        }

        // r2 is written, then r3 (too big for the capped file) fails the batch: r2's outcome must go with its write.
        var big = new string('x', 256 * 1024);
        var results = await writer.ApplyAsync([Create(2, "o2", "{}", requestId: "r2"), Create(3, "o3", $$"""{"b":"{{big}}"}""", requestId: "r3")], Ct);
        Assert.All(results, r => Assert.Equal(ApplyStatus.Transient, r.Status));
        Assert.Empty(await writer.FindRequestsAsync([new RequestKey("", "r2"), new RequestKey("", "r3")], Ct));
        Assert.Null(await writer.GetAsync(DefaultType, "o2", Ct));
        Assert.Single(await writer.FindRequestsAsync([new RequestKey("", "r1")], Ct));
    }

    [Fact]
    public async Task Lookups_from_many_threads_at_once_each_find_exactly_the_stored_ids_among_new_ones()
    {
        // The commit stage's lookups go through one prepared probe; a caller finding it busy reads in full instead. Both
        // must answer the same: every stored id found with its outcome, no new id found.
        await using var writer = DbWriters.OpenSqlite(Options);
        await writer.ApplyAsync([.. Enumerable.Range(1, 20).Select(i => Create(i, "e" + i, "{}", requestId: "stored-" + i))], Ct);

        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(async () =>
        {
            for (var round = 0; round < 50; round++)
            {
                var stored = Enumerable.Range(1, 20).Where(i => (i + t + round) % 5 == 0).Select(i => new RequestKey("", "stored-" + i)).ToList();
                var fresh = Enumerable.Range(0, 30).Select(i => new RequestKey("", $"new-{t}-{round}-{i}")).ToList();
                var found = await writer.FindRequestsAsync([.. fresh, .. stored], Ct);
                Assert.Equal(stored.Select(k => k.RequestId).Order(), found.Keys.Select(k => k.RequestId).Order());
                Assert.All(stored, k => Assert.Equal(ApplyStatus.Applied, found[k].Status));
            }
        }, Ct)));
    }

    [Fact]
    public async Task The_request_lookup_leaves_no_read_transaction_open_on_the_store()
    {
        // A reader left inside a transaction would pin nv.db-wal: no checkpoint could empty it (an erasure's scrub).
        await using var writer = (SqliteDbWriter)DbWriters.OpenSqlite(Options);
        await writer.ApplyAsync([Create(1, "e1", "{}", requestId: "stored-1")], Ct);
        await writer.RequestIdFilter!.Build; // the request-id filter's build reads in a snapshot of its own while it runs
        Assert.Single(await writer.FindRequestsAsync([new RequestKey("", "stored-1"), new RequestKey("", "new-1")], Ct));
        Assert.Empty(await writer.FindRequestsAsync([new RequestKey("", "new-2")], Ct));

        // The scrub's TRUNCATE checkpoint (it waits for a background checkpoint in flight, which would also answer busy).
        Assert.True(await writer.ScrubAsync(Ct)); // not busy: no reader holds the WAL file
        Assert.Equal(0L, new FileInfo(DbPath + "-wal").Length);
    }

    [Fact]
    public async Task A_reopened_store_finds_every_stored_request_id_once_its_filter_is_built_and_no_new_one()
    {
        const int Stored = 70_000; // more than one of the build's read chunks (65,536 rows)
        await using (var first = DbWriters.OpenSqlite(Options))
        {
            await first.ApplyAsync([.. Enumerable.Range(1, Stored).Select(i => Create(i, "e" + i, "{}", requestId: "stored-" + i))], Ct);
        }

        await using var writer = (SqliteDbWriter)DbWriters.OpenSqlite(Options);
        await writer.GetAsync(DefaultType, "e1", Ct); // opens the store, which starts the filter's build
        await writer.RequestIdFilter!.Build;
        Assert.True(writer.RequestIdFilter!.IsReady);

        var stored = Enumerable.Range(1, Stored).Select(i => new RequestKey("", "stored-" + i)).ToList();
        var fresh = Enumerable.Range(1, 3_000).Select(i => new RequestKey("", "new-" + i)).ToList();
        var found = await writer.FindRequestsAsync([.. stored, .. fresh], Ct);
        Assert.Equal(stored.Select(k => k.RequestId).Order(), found.Keys.Select(k => k.RequestId).Order());
    }

    [Fact]
    public async Task Request_ids_written_while_the_filter_is_rebuilt_are_all_found()
    {
        // A filter sized for 1,024 ids is rebuilt once it overflows. The build scans the store in one snapshot while the
        // writer goes on: ids committed after that snapshot must reach the new filter through the writer's own adds.
        var options = new DbWriterOptions { DataDirectory = _directory.Path, SqliteFileName = "nv.db", RequestIdFilterMinCapacity = 1_024 };
        await using var writer = (SqliteDbWriter)DbWriters.OpenSqlite(options);
        await writer.GetAsync(DefaultType, "e1", Ct); // opens the store: the first build (of nothing)
        await writer.RequestIdFilter!.Build;
        var lsn = 0;
        List<WalRecord> Batch(int count) => [.. Enumerable.Range(0, count).Select(_ => { lsn++; return Create(lsn, "e" + lsn, "{}", requestId: "stored-" + lsn); })];
        await writer.ApplyAsync(Batch(1_100), Ct); // past the filter's size: the next transaction starts a build

        using var snapshotTaken = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        writer.RequestIdFilter!.AfterSnapshot = () =>
        {
            snapshotTaken.Set();
            release.Wait(TimeSpan.FromSeconds(30), CancellationToken.None); // the build thread: released by the test
        };
        await writer.ApplyAsync(Batch(1), Ct); // starts the build
        Assert.True(snapshotTaken.Wait(TimeSpan.FromSeconds(30), Ct));
        var during = Batch(200);
        await writer.ApplyAsync(during, Ct); // committed after the build's snapshot
        release.Set();
        await writer.RequestIdFilter!.Build;
        Assert.True(writer.RequestIdFilter!.IsReady);

        Assert.Equal(during.Count, (await writer.FindRequestsAsync([.. during.Select(r => new RequestKey("", r.RequestId!))], Ct)).Count);
        var all = Enumerable.Range(1, lsn).Select(i => new RequestKey("", "stored-" + i)).ToList();
        Assert.Equal(lsn, (await writer.FindRequestsAsync([.. all, new RequestKey("", "never")], Ct)).Count);
    }

    [Fact]
    public async Task A_probe_that_fails_inside_its_read_transaction_leaves_no_transaction_open()
    {
        // Given a pooled connection on purpose: the rollback alone must keep its transaction from reaching the pool. Before
        // the fix the probe's connection came from the readers' pool and went back to it still inside its read
        // transaction: the next reader saw a stale snapshot (a stored outcome "not found") and nv.db-wal stayed pinned.
        await using (var writer = DbWriters.OpenSqlite(Options))
        {
            await writer.ApplyAsync([Create(1, "e1", "{}", requestId: "stored-1")], Ct);
        }

        var readers = $"Data Source={DbPath};Mode=ReadOnly;Pooling=True";
        var probe = new SqliteIndexProbe(readers, "SELECT 1 FROM _nv_requests WHERE request_id = ?1 LIMIT 1", TimeSpan.FromSeconds(5));
        static IEnumerable<string> FailingAfterOne()
        {
            yield return "stored-1";
            throw new InvalidOperationException("enumeration failed mid-probe");
        }

        Assert.Throws<InvalidOperationException>(() => probe.TryProbe(FailingAfterOne()));
        Assert.True(probe.IsClosed);
        probe.Dispose();

        await using (var writer = DbWriters.OpenSqlite(Options))
        {
            await writer.ApplyAsync([Create(2, "e2", "{}", requestId: "stored-2")], Ct);
        }

        using var pooled = new SqliteConnection(readers);
        pooled.Open();
        Assert.Equal(1, SQLitePCL.raw.sqlite3_get_autocommit(pooled.Handle)); // not inside a transaction left behind
        using var count = pooled.CreateCommand();
        count.CommandText = "SELECT count(*) FROM _nv_requests";
        Assert.Equal(2L, count.ExecuteScalar());
        pooled.Close();

        using var connection = new SqliteConnection($"Data Source={DbPath};Pooling=False");
        connection.Open();
        using var checkpoint = connection.CreateCommand();
        checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
        using var reader = checkpoint.ExecuteReader();
        Assert.True(reader.Read());
        Assert.Equal(0L, reader.GetInt64(0)); // not busy
    }
}
