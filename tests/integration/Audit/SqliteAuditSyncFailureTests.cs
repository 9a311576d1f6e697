using Microsoft.Data.Sqlite;
using Nv.Audit;
using Nv.Audit.Sqlite;
using Nv.Wal;

namespace Nv.Integration.Tests.Audit;

/// <summary>A failed sync of the audit store stops it: no later durable point or signed checkpoint can claim entries
/// that a write-back error may have dropped.</summary>
public sealed class SqliteAuditSyncFailureTests : AuditStoreFixture
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_failed_sync_stops_the_store_so_a_later_sync_cannot_report_unsynced_entries_durable()
    {
        // Linux reports a write-back error once: the fsync after a failed one succeeds although the frames it should have
        // written are gone. Before the fix the next durable point returned the audited position (the WAL's watermark
        // moved, truncation followed, and a power loss lost those entries for good).
        var sink = (SqliteAuditSink)Sink;
        Assert.Equal(2, await sink.AppendAsync([Entry(entityId: "a"), Entry(entityId: "b")], new Lsn(2), Ct));
        sink.InjectSyncFailure = () => new SqliteException("disk I/O error", SQLitePCL.raw.SQLITE_IOERR, 1034); // IOERR_FSYNC

        await Assert.ThrowsAsync<SqliteException>(() => sink.MakeDurableAsync(Ct));
        sink.InjectSyncFailure = null; // the next fsync would "succeed"

        var stopped = await Assert.ThrowsAsync<InvalidOperationException>(() => sink.MakeDurableAsync(Ct));
        Assert.Contains("failed sync", stopped.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<InvalidOperationException>(() => sink.AppendAsync([Entry(entityId: "c")], new Lsn(3), Ct));
        await Assert.ThrowsAsync<InvalidOperationException>(() => sink.CheckpointAsync("orders", Ct));

        // A restart opens the store again (boot replay then rebuilds from the WAL whatever the file lacks).
        await ReopenAsync();
        Assert.Equal(new Lsn(2), await Sink.MakeDurableAsync(Ct));
    }

    /// <summary>SQLite syncs the WAL file inside a commit that is not synced itself (when it restarts or checkpoints it): a
    /// failed fsync there failed the append, the backfill retried it on a file whose sync had failed, and the store never
    /// stopped (the durable point that would have stopped it waits for an append to succeed). Any other I/O error of an
    /// unsynced append leaves the store running (the append is retried).</summary>
    [Fact]
    public async Task A_failed_fsync_inside_an_unsynced_append_stops_the_store()
    {
        var sink = (SqliteAuditSink)Sink;
        Assert.Equal(1, await sink.AppendAsync([Entry(entityId: "a")], new Lsn(1), Ct));
        sink.InjectCommitFailure = () => new SqliteException("disk I/O error", SQLitePCL.raw.SQLITE_IOERR, 778); // IOERR_WRITE
        await Assert.ThrowsAsync<SqliteException>(() => sink.AppendAsync([Entry(entityId: "b")], new Lsn(2), Ct));
        sink.InjectCommitFailure = null;
        Assert.Equal(1, await sink.AppendAsync([Entry(entityId: "b")], new Lsn(2), Ct)); // still running

        sink.InjectCommitFailure = () => new SqliteException("disk I/O error", SQLitePCL.raw.SQLITE_IOERR, 1034); // IOERR_FSYNC
        await Assert.ThrowsAsync<SqliteException>(() => sink.AppendAsync([Entry(entityId: "c")], new Lsn(3), Ct));
        sink.InjectCommitFailure = null;

        var stopped = await Assert.ThrowsAsync<InvalidOperationException>(() => sink.AppendAsync([Entry(entityId: "c")], new Lsn(3), Ct));
        Assert.Contains("failed sync", stopped.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<InvalidOperationException>(() => sink.MakeDurableAsync(Ct));
    }

    [Fact]
    public async Task An_io_error_in_a_background_checkpoint_stops_the_store()
    {
        // The checkpoint syncs the WAL file before copying it and the database file after: an I/O error there is the same
        // lost write-back a failed durable point reports, and used to be logged at Debug only.
        var sink = (SqliteAuditSink)Sink;
        await sink.AppendAsync([Entry(entityId: "a")], new Lsn(1), Ct);
        var checkpointer = sink.WalCheckpointer!;
        var ticks = 0;
        var failed = new TaskCompletionSource();
        checkpointer.OnTick = () =>
        {
            if (Interlocked.Increment(ref ticks) == 1)
            {
                failed.TrySetResult();
                throw new SqliteException("disk I/O error", SQLitePCL.raw.SQLITE_IOERR, 1034); // IOERR_FSYNC
            }
        };

        await failed.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        Exception? stopped = null;
        while (stopped is null && DateTime.UtcNow < deadline)
        {
            try
            {
                await sink.MakeDurableAsync(Ct);
                await Task.Delay(20, Ct);
            }
            catch (InvalidOperationException ex)
            {
                stopped = ex;
            }
        }

        Assert.NotNull(stopped);
        Assert.Contains("failed sync", stopped.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<InvalidOperationException>(() => sink.AppendAsync([Entry(entityId: "b")], new Lsn(2), Ct));
    }

    [Fact]
    public async Task The_first_durable_point_after_opening_syncs_even_when_nothing_was_appended_since()
    {
        // Entries a killed run appended with synchronous=NORMAL may sit unsynced in the page cache; the next run's first
        // durable point (boot, nothing to replay) used to skip the sync and report them durable.
        await Sink.AppendAsync([Entry(entityId: "a")], new Lsn(1), Ct);
        await ReopenAsync(); // no durable point before: as after a SIGKILL
        var sink = (SqliteAuditSink)Sink;
        var synced = 0;
        sink.InjectSyncFailure = () =>
        {
            synced++;
            return null;
        };

        Assert.Equal(new Lsn(1), await sink.MakeDurableAsync(Ct));
        Assert.Equal(1, synced);
        Assert.Equal(new Lsn(1), await sink.MakeDurableAsync(Ct));
        Assert.Equal(1, synced); // clean now: nothing to sync
    }

    [Fact]
    public async Task A_busy_store_during_a_sync_is_not_an_io_failure_and_does_not_stop_it()
    {
        var sink = (SqliteAuditSink)Sink;
        await sink.AppendAsync([Entry(entityId: "a")], new Lsn(1), Ct);
        sink.InjectSyncFailure = () => new SqliteException("database is locked", SQLitePCL.raw.SQLITE_BUSY);
        await Assert.ThrowsAsync<SqliteException>(() => sink.MakeDurableAsync(Ct));
        sink.InjectSyncFailure = null;
        Assert.Equal(new Lsn(1), await sink.MakeDurableAsync(Ct));
    }
}
