using Microsoft.Data.Sqlite;
using Nv.Shared.Sqlite;
using Nv.Wal;

namespace Nv.Audit.Sqlite;

/// <summary>Durable points: the store appends with <c>synchronous=NORMAL</c> and syncs only here and when it signs a
/// checkpoint, so one sync covers many appends.</summary>
/// <remarks>A commit made with <c>synchronous=FULL</c> syncs the SQLite WAL file, and with it every frame an earlier
/// NORMAL commit wrote, but only when it writes a frame itself: SQLite writes none for a transaction that changed no page,
/// and syncs nothing then. A durable point therefore always changes a page (<see cref="SqliteAuditSchema.SetDurableThrough"/>
/// counts it), and a synced append marks the store clean only when it stored something. The writer's lock is held
/// throughout.</remarks>
internal sealed partial class SqliteAuditSink
{
    public async Task<Lsn?> GetAuditedThroughAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            InitializeCore();
            return _auditedThrough is { } through ? new Lsn(through) : null;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<Lsn?> MakeDurableAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            InitializeCore();
            if (_dirty)
            {
                var statement = _sql!.SetDurableThrough;
                statement.Bind(1, _auditedThrough ?? 0);
                ExecuteSynced(() => statement.Execute());
            }

            return _auditedThrough is { } through ? new Lsn(through) : null;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Tests: appends <paramref name="entries"/> as the store appends its own (checkpoint failures, archive and
    /// prune records): one synced commit, with no audited position.</summary>
    internal async Task<int> AppendSyncedAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            InitializeCore();
            return AppendChunk(entries, 0, entries.Count, null, synced: true);
        }
        finally
        {
            _gate.Release();
        }
    }

    // Runs one autocommit statement with synchronous=FULL; afterwards everything committed so far is durable, provided the
    // statement changed a page (each caller's does: a durable point's count, a new checkpoint row). An I/O error
    // there (a failed write or fsync of the WAL file) stops the store: the kernel may have dropped the dirty pages and
    // reports the error once, so a later sync could succeed over frames that never reached the disk, and a durable point
    // or a signed checkpoint would then cover entries a power loss takes back. Stopped, the store answers every call with
    // that failure (audit failures: writes go on, the WAL keeps what the trail lacks) until a restart rebuilds it.
    private void ExecuteSynced(Action statement)
    {
        var pragma = _sql!;
        pragma.SynchronousFull.Execute();
        try
        {
            if (InjectSyncFailure?.Invoke() is { } injected)
            {
                throw injected;
            }

            statement();
            _dirty = false;
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == SQLitePCL.raw.SQLITE_IOERR)
        {
            StopAfterSyncFailure(ex);
            throw;
        }
        finally
        {
            pragma.SynchronousNormal.Execute();
        }
    }

    // A failed fsync inside a commit that is not synced itself (SQLite syncs the WAL file when it restarts or checkpoints
    // it): the store stops as after a failed synced commit. Retrying the append, as the backfill did, wrote on to a file
    // whose sync had failed (a later sync can succeed without the lost pages) and never stopped the store, since the
    // durable point that would have stopped it waits for an append to succeed (StoreSyncFaultHttpTests, once in a run).
    private static bool IsFailedSync(SqliteException io) =>
        io.SqliteExtendedErrorCode is SQLitePCL.raw.SQLITE_IOERR_FSYNC or SQLitePCL.raw.SQLITE_IOERR_DIR_FSYNC;

    // Every synced commit (durable points, checkpoints, and the entries, archive records and prunes the store commits
    // synced itself) stops the store on an I/O error: see ExecuteSynced.
    private void StopAfterSyncFailure(SqliteException failure)
    {
        _syncFault ??= failure;
        Log.StoreStoppedAfterSyncFailure(_logger, _path, failure);
    }

    private static long? ReadAuditedThrough(Statements sql)
    {
        var select = sql.AuditedThrough;
        try
        {
            return select.Step() ? select.GetInt64(0) : null;
        }
        finally
        {
            select.Reset();
        }
    }
}
