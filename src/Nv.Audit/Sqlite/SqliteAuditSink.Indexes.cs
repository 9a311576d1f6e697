using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Nv.Shared.Sqlite;

namespace Nv.Audit.Sqlite;

/// <summary>Query indexes deferred for a long append: a boot replay of many records appends its entries without four of the
/// five query indexes and builds each once at its end.</summary>
/// <remarks>Their keys lead with a request id, an entity, a user or a category, so keeping them up costs the append a page
/// per entry and index wherever its key falls; a bulk build sorts once instead. The time index is kept (its key grows with
/// the log, so entries append to its last page; ~3% of the replay rate): time-range queries and the operations view's
/// newest-entries query (polled every few seconds by the audit explorer) stay indexed during a replay. Measured (README,
/// "Benchmarks", boot replay): 1M entries append ~1.5x faster without the indexes, and the build costs about half of what
/// that saves when the store held nothing before (the replay ends ~1.24x faster, build included); so they are deferred
/// only when the entries to come are at least <see cref="AuditOptions.BulkIndexThreshold"/> and at least as many as the
/// store holds (the build covers every entry, old and new). Nothing else depends on them: the chain, the Merkle leaves,
/// idempotency (the unique id) and the audited position live in other tables or constraints, and queries answer without
/// them by scanning. A run stopped between the drop and the build leaves them missing; the next start's replay builds them
/// (<see cref="BuildIndexesAsync"/> runs at the end of every boot replay). The drop and each index's build are ordinary
/// transactions, so a power loss can only undo whole steps, never leave half an index. A build that fails (a full disk:
/// each index is about a fifth of the table's size, and its build passes that through the WAL file too), or that is not
/// started for want of room (<c>EnsureRoomToBuild</c>), leaves the rest to a later build: the host's maintenance loop
/// retries it, and every start builds what is missing. Binaries older than this one
/// re-create only the request-id index at open: a store a killed replay left without the four, opened by an older build,
/// lacks the other three until a newer build's replay.</remarks>
internal sealed partial class SqliteAuditSink
{
    public async Task<bool> DeferIndexesAsync(long entries, CancellationToken cancellationToken = default)
    {
        if (_options.BulkIndexThreshold <= 0 || entries < _options.BulkIndexThreshold)
        {
            return false;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            InitializeCore();
            var held = HeldEntries();
            if (entries < held)
            {
                return false;
            }

            ChangeSchema(string.Concat(SqliteAuditSchema.QueryIndexes.Where(static index => index.Deferrable).Select(static index => $"DROP INDEX IF EXISTS {index.Name};")));
            Log.QueryIndexesDeferred(_logger, entries, held);
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task BuildIndexesAsync(CancellationToken cancellationToken = default)
    {
        List<(string Name, string Columns, bool Deferrable)> missing;
        await _gate.WaitAsync(cancellationToken);
        try
        {
            InitializeCore();
            missing = MissingQueryIndexes();
        }
        finally
        {
            _gate.Release();
        }

        var clock = Stopwatch.StartNew();
        var built = 0;
        foreach (var index in missing)
        {
            // One index per transaction and per hold of the writer: the WAL file holds one index's pages at a time
            // (checkpoints run in between), a stop waits for one index at most, and on a running host (a retry after a
            // failed build) appends go on between two indexes.
            cancellationToken.ThrowIfCancellationRequested();
            await _gate.WaitAsync(cancellationToken);
            try
            {
                InitializeCore();
                EnsureRoomToBuild(index.Name, built);
                if (built == 0)
                {
                    Log.QueryIndexesBuilding(_logger, string.Join(", ", missing.Select(static index => index.Name)), HeldEntries());
                }

                // Helper threads for SQLite's sorter (0.83x the build time on this machine's 2 cores).
                Execute(_writer!, $"PRAGMA threads={Math.Clamp(Environment.ProcessorCount, 1, 4)};");
                try
                {
                    BuildIndex(SqliteAuditSchema.CreateQueryIndex(index), cancellationToken); // IF NOT EXISTS: another build may have made it
                }
                finally
                {
                    Execute(_writer!, "PRAGMA threads=0;");
                }
            }
            finally
            {
                _gate.Release();
            }

            built++;
            StepHook?.Invoke("index-built");
        }

        if (built > 0)
        {
            Log.QueryIndexesBuilt(_logger, built, clock.Elapsed.TotalSeconds);
        }
    }

    // Room left beside a build for everything else on the filesystem: the host's WAL may share it (its segments grow as
    // writes come), and a disk filled by a build would fault it.
    private const long BuildReserveBytes = 256L * 1024 * 1024;

    // An index build that runs out of disk fails only once the filesystem is full: a build is not started without room
    // for it. Each index here is about a fifth of the table; its pages pass through the WAL file (truncated back to 64 MiB
    // after) and then grow the database file, and SQLite's sorter may spill (to the temporary directory). Half the
    // database file is a generous bound for one index; the reserve stays free beside it.
    private void EnsureRoomToBuild(string index, int built)
    {
        var need = (new FileInfo(_path).Length / 2) + BuildReserveBytes;
        long free;
        try
        {
            free = FreeSpaceProbe?.Invoke() ?? new DriveInfo(Path.GetDirectoryName(Path.GetFullPath(_path))!).AvailableFreeSpace;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return; // the filesystem does not say: build, as before this check
        }

        if (free < need)
        {
            throw new IOException(string.Create(CultureInfo.InvariantCulture,
                $"Not building audit query index {index}: it needs about {need >> 20} MiB free beside {_path} (half the audit store for the build plus 256 MiB left for everything else), and {free >> 20} MiB are; {built} index(es) built before it. Queries scan until a later build."));
        }
    }

    // The highest position counts pruned entries too: an over-estimate, which only makes deferring rarer.
    private long HeldEntries() =>
        Convert.ToInt64(Scalar(_writer!, "SELECT COALESCE(MAX(position), 0) FROM audit_entries;"), CultureInfo.InvariantCulture);

    private List<(string Name, string Columns, bool Deferrable)> MissingQueryIndexes()
    {
        var present = new HashSet<string>(StringComparer.Ordinal);
        using (var command = _writer!.CreateCommand())
        {
            command.CommandText = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_entries';";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                present.Add(reader.GetString(0));
            }
        }

        return [.. SqliteAuditSchema.QueryIndexes.Where(index => !present.Contains(index.Name))];
    }

    // One index in one transaction. A cancellation (a host stopping during a retried build) interrupts it where it is
    // (sqlite3_interrupt): the transaction rolls back whole, no half index is left, and the next build starts it again;
    // without it a stop would wait for the index in progress (about a second per million entries here).
    private void BuildIndex(string ddl, CancellationToken cancellationToken)
    {
        var writer = _writer!;
        try
        {
            using var transaction = writer.BeginTransaction();
            using (cancellationToken.Register(static state => SQLitePCL.raw.sqlite3_interrupt(((SqliteConnection)state!).Handle), writer))
            {
                cancellationToken.ThrowIfCancellationRequested(); // an interrupt before the statement runs is a no-op
                StepHook?.Invoke("index-building");
                Execute(writer, ddl, transaction);
                transaction.Commit();
            }
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == SQLitePCL.raw.SQLITE_INTERRUPT && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("The audit query index build was stopped; the index is built again by the next build.", ex, cancellationToken);
        }

        _dirty = true;
    }

    // One transaction (committed with synchronous=NORMAL like an append: the next durable point covers it). The chain heads
    // cached in memory are untouched: no entry changes.
    private void ChangeSchema(string ddl)
    {
        using (var transaction = _writer!.BeginTransaction())
        {
            Execute(_writer, ddl, transaction);
            transaction.Commit();
        }

        _dirty = true;
    }
}
