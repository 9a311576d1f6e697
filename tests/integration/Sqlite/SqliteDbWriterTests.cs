using Microsoft.Data.Sqlite;
using Nv.DbWriter;
using Nv.DbWriter.Sqlite;
using Nv.Integration.Tests.Support;
using Nv.Wal;
using static Nv.Integration.Tests.Support.WalRecords;

namespace Nv.Integration.Tests.Sqlite;

/// <summary>SQLite-specific guarantees: untrusted identifiers, pragmas, transient failures from real lock and disk errors.</summary>
public sealed class SqliteDbWriterTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    private DbWriterOptions Options(TimeSpan? busy = null) => new()
    {
        DataDirectory = Path.Combine(_directory.Path, "nested", "data"),
        SqliteFileName = "nv.db",
        SqliteBusyTimeout = busy ?? TimeSpan.FromSeconds(5),
    };

    private SqliteDbWriter Open(TimeSpan? busy = null) => (SqliteDbWriter)DbWriters.OpenSqlite(Options(busy));

    private static SqliteConnection Connect(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, DefaultTimeout = 1 }.ToString());
        connection.Open();
        return connection;
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static List<string> Tables(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name";
        using var reader = command.ExecuteReader();
        var names = new List<string>();
        while (reader.Read())
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    [Theory]
    [InlineData("Order\"; DROP TABLE _nv_resolutions; --")]
    [InlineData("x; DELETE FROM _nv_meta")]
    [InlineData("a\"b")]
    [InlineData("a b")]
    [InlineData("")]
    [InlineData("1abc")]
    [InlineData("_nv_resolutions")]
    [InlineData("_nv_meta")]
    [InlineData("sqlite_master")]
    [InlineData("SQLITE_schema")]
    [InlineData("Ordér")]
    [InlineData("Order\0")]
    [InlineData("Order\n")]
    [InlineData("a0123456789012345678901234567890123456789012345678901234567890123")]
    public async Task A_hostile_dtoType_is_refused_and_nothing_is_written(string dtoType)
    {
        await using var writer = Open();
        WalRecord[] batch = [Create(1, "o1", "{}"), Create(2, "o2", "{}", dtoType: dtoType)];

        await Assert.ThrowsAsync<ArgumentException>(() => writer.ApplyAsync(batch, Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => writer.GetAsync(dtoType, "o1", Ct));

        Assert.Null(await writer.GetAsync(DefaultType, "o1", Ct));
        Assert.Equal(Lsn.None, await writer.GetResolvedThroughAsync(Ct));
        Assert.Empty(await writer.GetResolutionsAsync(Lsn.None, 10, Ct));
        Assert.Equal(["_nv_batch_resolutions", "_nv_erasures", "_nv_keys", "_nv_meta", "_nv_requests", "_nv_resolutions", "_nv_subjects"], Tables(writer.Connection));
    }

    [Fact]
    public async Task The_longest_allowed_dtoType_works()
    {
        await using var writer = Open();
        var dtoType = "A" + new string('b', 63);
        var result = Assert.Single(await writer.ApplyAsync([Create(1, "o1", "{}", dtoType: dtoType)], Ct));
        Assert.Equal(ApplyStatus.Applied, result.Status);
        Assert.NotNull(await writer.GetAsync(dtoType, "o1", Ct));
    }

    [Fact]
    public async Task DtoTypes_that_differ_only_in_case_are_rejected_as_unstorable_the_same_way_at_every_replay()
    {
        // SQLite's table names are case-insensitive. Such a record used to throw out of ApplyAsync, which faulted the
        // pipeline and made boot replay retry it for ever (the host never became ready): now it is an outcome.
        await using var writer = Open();
        await writer.ApplyAsync([Create(1, "o1", """{"v":1}""", dtoType: "Order")], Ct);
        WalRecord[] chunk =
        [
            Create(2, "o1", "{}", dtoType: "ORDER"),
            Create(3, "a", "{}", dtoType: "Invoice"),
            Create(4, "b", "{}", dtoType: "invoice"), // a second new spelling in the same chunk: the first in LSN order owns the table
            BatchRecords.Batch(5, BatchRecords.Create(5, 0, "ok", "{}", dtoType: "Order"), BatchRecords.Delete(5, 1, "o1", dtoType: "oRdEr")),
            Create(6, "o2", "{}", dtoType: "Order"),
        ];

        for (var attempt = 0; attempt < 2; attempt++) // the second time: replay finds the stored outcomes
        {
            var results = await writer.ApplyAsync(chunk, Ct);
            var applied = attempt == 0 ? ApplyStatus.Applied : ApplyStatus.AlreadyApplied;
            Assert.Equal(
                [ApplyStatus.Rejected, applied, ApplyStatus.Rejected, ApplyStatus.Rejected, applied],
                results.Select(static r => r.Status));
            Assert.All(new[] { results[0], results[2], results[3] }, static r => Assert.Equal(RejectReason.Unstorable, r.RejectReason));
            Assert.Equal(1, results[3].FailedItem);
            if (attempt == 0)
            {
                Assert.Contains("differs only in case from the stored type 'Order'", results[0].Error, StringComparison.Ordinal);
                Assert.Contains("Batch item 1:", results[3].Error, StringComparison.Ordinal);
            }
        }

        Assert.NotNull(await writer.GetAsync("Order", "o1", Ct)); // neither the single write nor the batch's delete touched it
        Assert.Null(await writer.GetAsync("Order", "ok", Ct));
        Assert.Null(await writer.GetAsync("invoice", "b", Ct));
        Assert.NotNull(await writer.GetAsync("Invoice", "a", Ct));
        Assert.Equal(new Lsn(6), await writer.GetResolvedThroughAsync(Ct));

        // Before the WAL the pipeline asks: a stored spelling and a new type pass, another spelling of a stored one does not.
        IDbWriter check = writer;
        Assert.Null(check.CheckDtoType("Order"));
        Assert.Null(check.CheckDtoType("Customer"));
        var refusal = check.CheckDtoType("ORDER");
        Assert.NotNull(refusal);
        Assert.Contains("'Order'", refusal.Reason, StringComparison.Ordinal);
    }

    /// <summary>nv erase checks the spelling before it starts the host (EncryptionStartup.CheckErasure): before the store is
    /// opened, CheckDtoType reads the file and creates or changes nothing. A plain read-only connection would not do: on a
    /// WAL-mode database it creates the -wal and -shm files and leaves them behind (and before, CheckDtoType opened the store
    /// for writing).</summary>
    [Fact]
    public async Task CheckDtoType_before_the_store_opens_reads_the_file_and_changes_nothing()
    {
        var data = Options().DataDirectory;
        IDbWriter none = new SqliteDbWriter(Options()); // as the host's services make it: opened on first use
        Assert.Null(none.CheckDtoType("ORDER")); // no file: nothing is stored
        Assert.False(Directory.Exists(data));
        await none.DisposeAsync();

        await using (var writer = Open())
        {
            await writer.ApplyAsync([Create(1, "o1", "{}", dtoType: "Order")], Ct);

            // Open (or after a crash): its SQLite WAL file is there, and read through.
            var crashed = Path.Combine(_directory.Path, "crashed");
            Directory.CreateDirectory(crashed);
            foreach (var file in Directory.GetFiles(data, "nv.db*"))
            {
                File.Copy(file, Path.Combine(crashed, Path.GetFileName(file)));
            }

            await using var image = new SqliteDbWriter(new DbWriterOptions { DataDirectory = crashed, SqliteFileName = "nv.db" });
            Assert.Contains("'Order'", ((IDbWriter)image).CheckDtoType("ORDER")!.Reason, StringComparison.Ordinal);
        }

        var before = FileHashes(data);
        Assert.DoesNotContain("nv.db-wal", before.Keys); // a clean close removes it
        await using (var closed = new SqliteDbWriter(Options()))
        {
            IDbWriter check = closed;
            Assert.Contains("'Order'", check.CheckDtoType("ORDER")!.Reason, StringComparison.Ordinal);
            Assert.Null(check.CheckDtoType("Order"));
            Assert.Null(check.CheckDtoType("Invoice"));
            Assert.Equal(before, FileHashes(data));
        }
    }

    private static SortedDictionary<string, string> FileHashes(string directory) => new(
        Directory.GetFiles(directory).ToDictionary(
            f => Path.GetFileName(f),
            f => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f)))),
        StringComparer.Ordinal);

    [Fact]
    public async Task Malformed_records_are_refused_before_anything_is_written()
    {
        await using var writer = Open();
        var noLsn = Create(1, "o1", "{}") with { Lsn = Lsn.None };
        var arrayPayload = Create(2, "o2", "[1,2]");
        var noPayload = Create(3, "o3", "{}") with { Payload = default };

        foreach (var bad in new[] { noLsn, arrayPayload, noPayload })
        {
            await Assert.ThrowsAsync<ArgumentException>(() => writer.ApplyAsync([Create(10, "ok", "{}"), bad], Ct));
        }

        Assert.Null(await writer.GetAsync(DefaultType, "ok", Ct));
        Assert.Equal(Lsn.None, await writer.GetResolvedThroughAsync(Ct));
    }

    [Fact]
    public async Task An_lsn_whose_stored_outcome_belongs_to_another_record_is_an_error_not_a_stored_outcome()
    {
        await using var writer = Open();
        await writer.ApplyAsync([Create(5, "o1", """{"a":1}""")], Ct);

        // The same LSN issued again to a different record (a WAL that restarted below what this database holds).
        var reused = Create(5, "o2", """{"b":2}""") with { Id = Guid.CreateVersion7() };
        var error = await Assert.ThrowsAsync<DbWriterException>(() => writer.ApplyAsync([reused], Ct));

        Assert.False(error.IsTransient);
        Assert.Contains("issued twice", error.Message, StringComparison.Ordinal);
        Assert.Null(await writer.GetAsync("Order", "o2", Ct));
        Assert.NotNull(await writer.GetAsync("Order", "o1", Ct));
    }

    /// <summary>The batch path read a stored resolution without comparing its WAL id: a batch at a re-issued LSN was
    /// answered with another record's outcome.</summary>
    [Fact]
    public async Task A_batch_at_an_lsn_whose_stored_outcome_belongs_to_another_record_is_an_error_not_a_stored_outcome()
    {
        await using var writer = Open();
        await writer.ApplyAsync([Create(5, "o1", """{"a":1}""")], Ct);

        var reused = BatchRecords.Batch(5, BatchRecords.Create(5, 0, "o2", """{"b":2}"""), BatchRecords.Create(5, 1, "o3", "{}")) with { Id = Guid.CreateVersion7() };
        var error = await Assert.ThrowsAsync<DbWriterException>(() => writer.ApplyAsync([reused], Ct));

        Assert.False(error.IsTransient);
        Assert.Contains("issued twice", error.Message, StringComparison.Ordinal);
        Assert.Null(await writer.GetAsync(DefaultType, "o2", Ct));

        // A batch replayed at its own LSN still gets its stored outcome.
        var batch = BatchRecords.Batch(6, BatchRecords.Create(6, 0, "o4", "{}"));
        Assert.Equal(ApplyStatus.Applied, (await writer.ApplyAsync([batch], Ct))[0].Status);
        Assert.Equal(ApplyStatus.AlreadyApplied, (await writer.ApplyAsync([batch], Ct))[0].Status);
    }

    [Fact]
    public async Task The_directory_is_created_and_the_durability_pragmas_are_really_set()
    {
        await using var writer = Open(busy: TimeSpan.FromMilliseconds(1500));
        var connection = writer.Connection;

        Assert.True(File.Exists(Path.Combine(Options().DataDirectory, "nv.db")));
        Assert.Equal("wal", Scalar(connection, "PRAGMA journal_mode"));
        Assert.Equal(1L, Scalar(connection, "PRAGMA synchronous")); // NORMAL: Nv's WAL is the durability source
        Assert.Equal(1500L, Scalar(connection, "PRAGMA busy_timeout"));
        Assert.Equal(2, connection.DefaultTimeout);
        Assert.Equal(64L * 1024 * 1024, Scalar(connection, "PRAGMA journal_size_limit")); // SqliteWalCheckpointer.JournalSizeLimitBytes
    }

    [Fact]
    public async Task Applied_pages_reach_the_database_file_in_the_background_and_the_writer_only_checkpoints_as_a_backstop()
    {
        // Fails without the background checkpointer: SQLite's own checkpoint (1,000 pages by default, inside a commit)
        // never runs for a write this small, so the page stays in nv.db-wal only.
        await using var writer = Open();
        Assert.Equal(16_384L, Scalar(writer.Connection, "PRAGMA wal_autocheckpoint")); // SqliteWalCheckpointer.WriterAutoCheckpointPages
        const string marker = "checkpointed-by-the-background-loop";
        await writer.ApplyAsync([Create(1, "o1", $$"""{"note":"{{marker}}"}""")], Ct);

        var database = Path.Combine(Options().DataDirectory, "nv.db");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!Contains(database, marker))
        {
            Assert.True(DateTime.UtcNow < deadline, "the applied page did not reach nv.db within 10 s");
            await Task.Delay(50, Ct);
        }

    }

    [Fact]
    public async Task A_scrub_waits_for_a_background_checkpoint_in_flight_and_then_empties_the_wal_file()
    {
        // Fails without the wait: SQLite answers a TRUNCATE checkpoint that overlaps a running one with "busy" at once,
        // so the scrub would return (false, or true before the loop let go) while the loop still held its tick.
        await using var writer = Open();
        await writer.ApplyAsync([Create(1, "o1", """{"n":1}""")], Ct);
        var hold = await CheckpointHold.StartAsync(hook => writer.Checkpointer!.OnTick = hook, Ct); // a tick in flight

        var scrub = Task.Run(() => writer.ScrubAsync(Ct), Ct);
        await Task.Delay(300, Ct);
        Assert.False(scrub.IsCompleted); // waiting for the tick in flight
        hold.Dispose();
        Assert.True(await scrub);
        Assert.Equal(0, new FileInfo(Path.Combine(Options().DataDirectory, "nv.db") + "-wal").Length);
    }

    [Fact]
    public async Task A_stopped_store_is_left_alone_by_the_background_checkpoint()
    {
        await using var writer = Open();
        await writer.ApplyAsync([Create(1, "o1", """{"n":1}""")], Ct);
        writer.InjectBatchFailure = () => new SqliteException("disk I/O error (injected)", 10); // SQLITE_IOERR: not transient
        await Assert.ThrowsAsync<DbWriterException>(() => writer.ApplyAsync([Create(2, "o2", "{}")], Ct));
        // Fails without the skip: the loop would copy the first write's frames into nv.db (the store's stop does not
        // stop its files from being written otherwise).
        var database = Path.Combine(Options().DataDirectory, "nv.db");
        var before = await File.ReadAllBytesAsync(database, Ct);
        var ticks = 0;
        writer.Checkpointer!.OnTick = () => Interlocked.Increment(ref ticks);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (Volatile.Read(ref ticks) < 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "the background loop did not tick within 10 s");
            await Task.Delay(50, Ct);
        }

        Assert.Equal(before, await File.ReadAllBytesAsync(database, Ct));
    }

    private static bool Contains(string path, string text)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.GetBuffer().AsSpan(0, (int)copy.Length).IndexOf(System.Text.Encoding.UTF8.GetBytes(text)) >= 0;
    }

    [Fact]
    public async Task A_durable_point_records_the_resolved_position_in_the_store_and_leaves_the_connection_at_normal()
    {
        await using var writer = Open();
        await writer.ApplyAsync([Create(1, "o1", "{}"), Create(2, "o2", "{}")], Ct);
        var connection = writer.Connection;
        Assert.Equal(0L, Scalar(connection, "SELECT value FROM _nv_meta WHERE key = 'durable_through'"));

        Assert.Equal(new Lsn(2), await writer.MakeDurableAsync(Ct));

        Assert.Equal(2L, Scalar(connection, "SELECT value FROM _nv_meta WHERE key = 'durable_through'"));
        Assert.Equal(2L, Scalar(connection, "SELECT value FROM _nv_meta WHERE key = 'resolved_through'"));
        Assert.Equal(1L, Scalar(connection, "PRAGMA synchronous"));
    }

    [Fact]
    public async Task The_schema_has_the_guard_columns_and_the_outbox_tables()
    {
        await using var writer = Open();
        await writer.ApplyAsync([Create(1, "o1", "{}")], Ct);
        var connection = writer.Connection;

        Assert.Equal(["Order", "_nv_batch_resolutions", "_nv_erasures", "_nv_keys", "_nv_meta", "_nv_requests", "_nv_resolutions", "_nv_subjects"], Tables(connection));
        Assert.Equal("id,document,_nv_lsn,_nv_replay_key,_nv_wal_id,_nv_deleted",
            Scalar(connection, "SELECT group_concat(name) FROM pragma_table_info('Order')"));
        Assert.Equal("lsn,wal_id,request_id,status,reject_reason,before,key_id",
            Scalar(connection, "SELECT group_concat(name) FROM pragma_table_info('_nv_resolutions')"));
        Assert.Equal(0L, Scalar(connection, "SELECT count(*) FROM pragma_index_list('_nv_resolutions') WHERE name = '_nv_resolutions_request_id'")); // schema 4
        Assert.Equal("lsn,failed_item,items,item_key_ids", Scalar(connection, "SELECT group_concat(name) FROM pragma_table_info('_nv_batch_resolutions')"));
        Assert.Equal(1L, Scalar(connection, "SELECT value FROM _nv_meta WHERE key = 'resolved_through'"));
    }

    [Fact]
    public async Task A_delete_leaves_a_tombstone_that_keeps_the_lsn_and_is_invisible()
    {
        await using var writer = Open();
        await writer.ApplyAsync([Create(1, "o1", "{}"), Delete(2, "o1")], Ct);

        Assert.Null(await writer.GetAsync(DefaultType, "o1", Ct));
        Assert.Equal(2L, Scalar(writer.Connection, "SELECT _nv_lsn FROM \"Order\" WHERE id = 'o1' AND _nv_deleted = 1 AND document IS NULL"));
    }

    [Fact]
    public async Task A_write_lock_held_by_another_connection_makes_the_batch_transient_and_commits_nothing()
    {
        await using var writer = Open(busy: TimeSpan.FromMilliseconds(200));
        await writer.ApplyAsync([Create(1, "o1", """{"v":1}""")], Ct);

        using (var other = Connect(writer.Path))
        {
            using var hold = other.BeginTransaction(deferred: false); // BEGIN IMMEDIATE: holds the write lock
            var results = await writer.ApplyAsync([Update(2, "o1", """{"v":2}"""), Create(3, "o3", "{}")], Ct);

            Assert.All(results, r => Assert.Equal(ApplyStatus.Transient, r.Status));
            Assert.All(results, r => Assert.Contains("locked", r.Error, StringComparison.OrdinalIgnoreCase));
            hold.Rollback();
        }

        Assert.Equal("""{"v":1}""", (await writer.GetAsync(DefaultType, "o1", Ct))?.Document.GetRawText());
        Assert.Null(await writer.GetAsync(DefaultType, "o3", Ct));
        Assert.Equal(new Lsn(1), await writer.GetResolvedThroughAsync(Ct));

        var retried = await writer.ApplyAsync([Update(2, "o1", """{"v":2}"""), Create(3, "o3", "{}")], Ct);
        Assert.All(retried, r => Assert.Equal(ApplyStatus.Applied, r.Status));
    }

    [Fact]
    public async Task A_full_disk_mid_batch_is_transient_and_rolls_back_the_writes_before_it()
    {
        await using var writer = Open();
        await writer.ApplyAsync([Create(1, "o1", """{"v":1}""")], Ct);
        var connection = writer.Connection;
        Scalar(connection, $"PRAGMA max_page_count={Scalar(connection, "PRAGMA page_count")}");
        var big = new string('x', 256 * 1024);

        var results = await writer.ApplyAsync([Update(2, "o1", """{"v":2}"""), Create(3, "o3", $$"""{"b":"{{big}}"}""")], Ct);

        Assert.All(results, r => Assert.Equal(ApplyStatus.Transient, r.Status));
        Assert.All(results, r => Assert.Contains("full", r.Error, StringComparison.OrdinalIgnoreCase));
        Scalar(connection, "PRAGMA max_page_count=4294967294");
        Assert.Equal(1L, Scalar(connection, "SELECT _nv_lsn FROM \"Order\" WHERE id = 'o1'"));
        Assert.Equal(0L, Scalar(connection, "SELECT count(*) FROM _nv_resolutions WHERE lsn > 1"));
    }

    [Theory]
    [InlineData(10, 778, DbErrorClass.IoError)]   // IOERR_WRITE
    [InlineData(10, 1034, DbErrorClass.IoError)]  // IOERR_FSYNC
    [InlineData(11, 11, DbErrorClass.Corruption)] // CORRUPT
    [InlineData(26, 26, DbErrorClass.Corruption)] // NOTADB
    [InlineData(8, 8, DbErrorClass.Unwritable)]   // READONLY (a read-only remount after disk errors)
    public async Task A_non_transient_error_stops_the_store_and_is_never_retried(int primary, int extended, DbErrorClass expected)
    {
        await using var writer = Open();
        await writer.ApplyAsync([Create(1, "o1", """{"v":1}""")], Ct);
        writer.InjectBatchFailure = () => new SqliteException("injected failure", primary, extended);

        var failure = await Assert.ThrowsAsync<DbWriterException>(() => writer.ApplyAsync([Update(2, "o1", """{"v":2}""")], Ct));
        Assert.False(failure.IsTransient);
        Assert.Equal(expected, failure.ErrorClass);

        // Stopped: even once the cause is gone, nothing more is written through this writer (no retry, no purge).
        writer.InjectBatchFailure = null;
        var again = await Assert.ThrowsAsync<DbWriterException>(() => writer.ApplyAsync([Update(2, "o1", """{"v":2}""")], Ct));
        Assert.Same(failure, again);
        await Assert.ThrowsAsync<DbWriterException>(() => writer.PurgeAsync(new Lsn(1), Ct));
        Assert.Equal(1L, Scalar(writer.Connection, "SELECT _nv_lsn FROM \"Order\" WHERE id = 'o1'"));
        Assert.Equal(new Lsn(1), await writer.GetResolvedThroughAsync(Ct));
    }

    [Fact]
    public async Task A_failed_sync_at_a_durable_point_stops_the_store()
    {
        await using var writer = Open();
        await writer.ApplyAsync([Create(1, "o1", """{"v":1}""")], Ct);
        writer.InjectBatchFailure = () => new SqliteException("injected fsync failure", 10, 1034); // IOERR_FSYNC

        var failure = await Assert.ThrowsAsync<DbWriterException>(() => writer.MakeDurableAsync(Ct));
        Assert.Equal(DbErrorClass.IoError, failure.ErrorClass);

        // PostgreSQL's lesson: after a failed fsync the file's state is unknown; nothing more goes through this store.
        writer.InjectBatchFailure = null;
        Assert.Same(failure, await Assert.ThrowsAsync<DbWriterException>(() => writer.ApplyAsync([Update(2, "o1", """{"v":2}""")], Ct)));
        Assert.Same(failure, await Assert.ThrowsAsync<DbWriterException>(() => writer.MakeDurableAsync(Ct)));
    }

    [Fact]
    public async Task A_busy_error_is_transient_and_the_same_batch_applies_on_retry()
    {
        await using var writer = Open();
        var busy = true;
        writer.InjectBatchFailure = () => busy ? new SqliteException("injected busy", 5, 5) : null;

        var results = await writer.ApplyAsync([Create(1, "o1", "{}")], Ct);
        Assert.All(results, r => Assert.Equal(ApplyStatus.Transient, r.Status));

        busy = false;
        var retried = await writer.ApplyAsync([Create(1, "o1", "{}")], Ct);
        Assert.All(retried, r => Assert.Equal(ApplyStatus.Applied, r.Status));
    }

    [Fact]
    public async Task A_store_that_is_not_a_database_fails_to_open_as_corruption()
    {
        var options = Options();
        await using (var writer = DbWriters.OpenSqlite(options))
        {
            await writer.ApplyAsync([Create(1, "o1", "{}")], Ct);
        }

        var path = Path.Combine(options.DataDirectory, options.SqliteFileName);
        var bytes = await File.ReadAllBytesAsync(path, Ct);
        Array.Fill(bytes, (byte)0x5A, 0, 100); // the header: "SQLite format 3" and the page size are gone
        await File.WriteAllBytesAsync(path, bytes, Ct);

        var failure = Assert.Throws<DbWriterException>(() => DbWriters.OpenSqlite(options));
        Assert.False(failure.IsTransient);
        Assert.Equal(DbErrorClass.Corruption, failure.ErrorClass);
        Assert.Contains("restore", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Results_are_returned_only_after_commit_so_another_connection_sees_them()
    {
        await using var writer = Open();
        await writer.ApplyAsync([Create(1, "o1", """{"v":1}"""), Create(2, "o2", "{}")], Ct);

        using var other = Connect(writer.Path);
        Assert.Equal(2L, Scalar(other, "SELECT count(*) FROM \"Order\""));
        Assert.Equal(2L, Scalar(other, "SELECT value FROM _nv_meta WHERE key = 'resolved_through'"));
    }

    [Fact]
    public async Task A_disposed_writer_refuses_work()
    {
        var writer = Open();
        await writer.DisposeAsync();
        await writer.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => writer.ApplyAsync([Create(1, "o1", "{}")], Ct));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => writer.GetResolvedThroughAsync(Ct));
    }
}
