using Microsoft.Data.Sqlite;
using Nv.Shared.Sqlite;
using Nv.Wal;

namespace Nv.Audit.Sqlite;

/// <summary>Durable points: the store appends with <c>synchronous=NORMAL</c> and syncs only here and when it signs a
/// checkpoint, so one sync covers many appends.</summary>
/// <remarks>A durable point syncs the SQLite WAL file from outside SQLite, without the writer's lock
/// (<see cref="SqliteWalFileSync"/>); checkpoint signing and archiving make a commit with <c>synchronous=FULL</c> under the
/// lock, which syncs the file too. Either covers every frame an earlier NORMAL commit wrote.</remarks>
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
        await _durablePointGate.WaitAsync(cancellationToken); // one durable point at a time; appends go on meanwhile
        try
        {
            long? through;
            long epoch;
            await _gate.WaitAsync(cancellationToken);
            try
            {
                InitializeCore();
                through = _auditedThrough;
                if (!_dirty)
                {
                    return through is { } clean ? new Lsn(clean) : null;
                }

                // Written now (synchronous=NORMAL, no sync), synced below with every commit before it.
                var statement = _sql!.SetDurableThrough;
                statement.Bind(1, through ?? 0);
                statement.Execute();
                epoch = _dirtyEpoch;
            }
            finally
            {
                _gate.Release();
            }

            // The sync runs outside the writer's lock (SqliteWalFileSync says why that is as good as a FULL commit): the
            // audit stage is no longer held up for the length of a disk flush every durable point. _dirty stays set
            // until the sync has returned, so a checkpoint signed meanwhile syncs for itself.
            bool synced;
            try
            {
                if (InjectSyncFailure?.Invoke() is { } injected)
                {
                    throw injected;
                }

                synced = SqliteWalFileSync.TrySync(_path);
            }
            catch (Exception ex) when (ex is IOException or SqliteException { SqliteErrorCode: SQLitePCL.raw.SQLITE_IOERR })
            {
                await _gate.WaitAsync(CancellationToken.None);
                try
                {
                    var failure = ex as SqliteException ?? new SqliteException(
                        $"The durable point's sync of the audit store's WAL file failed: {ex.Message}", SQLitePCL.raw.SQLITE_IOERR, SQLitePCL.raw.SQLITE_IOERR_FSYNC);
                    StopAfterSyncFailure(failure);
                    throw failure;
                }
                finally
                {
                    _gate.Release();
                }
            }

            await _gate.WaitAsync(CancellationToken.None);
            try
            {
                if (!synced)
                {
                    // No WAL file (nothing went through it since it was last removed): one FULL commit syncs the store.
                    InitializeCore();
                    var statement = _sql!.SetDurableThrough;
                    statement.Bind(1, through ?? 0);
                    ExecuteSynced(() => statement.Execute());
                }
                else if (_dirtyEpoch == epoch)
                {
                    _dirty = false; // nothing was committed after the durable point's own commit
                }
            }
            finally
            {
                _gate.Release();
            }

            return through is { } durable ? new Lsn(durable) : null;
        }
        finally
        {
            _durablePointGate.Release();
        }
    }

    // A commit at synchronous=NORMAL: not durable until the next durable point or synced commit. Under the writer's lock.
    private void MarkDirty()
    {
        _dirty = true;
        _dirtyEpoch++;
    }

    // Runs one autocommit statement with synchronous=FULL; afterwards everything committed so far is durable. An I/O error
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
