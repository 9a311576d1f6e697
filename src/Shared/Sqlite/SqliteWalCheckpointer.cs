using Microsoft.Data.Sqlite;

namespace Nv.Shared.Sqlite;

/// <summary>Copies a store's SQLite WAL file into its database file in the background, on a connection of its own, so
/// that the store's commits do not pay for it. Both SQLite stores use it (the entity store and the audit store).</summary>
/// <remarks>SQLite's automatic checkpoint runs inside the commit that crosses its threshold (1,000 pages by default),
/// and each run copies every page written since the last one. Most of what the stores write are B-tree pages they rewrite
/// over and over (random request-id, primary-key and index leaves, the last page of each table): run rarely, one
/// checkpoint copies each such page once however often it changed meanwhile. Here a PASSIVE checkpoint every <see cref="Period"/> (it never
/// blocks the writer or readers, and skips what it cannot copy yet); the writer keeps its automatic checkpoint at
/// <see cref="WriterAutoCheckpointPages"/> as a bound on the WAL file should this loop fall behind or fail.
/// Durability is unchanged: a checkpoint only moves committed pages (syncing the WAL file before and the database file
/// after), and what is durable is still decided by each store's synced commits (its durable points).
/// A TRUNCATE checkpoint (the scrub after an erasure) runs through <see cref="Exclusive{T}"/>: SQLite answers a second
/// checkpoint that overlaps a running one with "busy" instead of waiting. One source file compiled into both Nv.DbWriter
/// and Nv.Audit, as <see cref="SqliteStatement"/>.</remarks>
internal sealed class SqliteWalCheckpointer : IDisposable
{
    /// <summary>How often the background loop checkpoints (README, "Background SQLite checkpoints": 250 ms to 2 s measured
    /// alike; SQLite's own default, inside the commits, was slower).</summary>
    public static readonly TimeSpan Period = TimeSpan.FromMilliseconds(500);

    /// <summary>The writer connection's own automatic checkpoint threshold (pages, 64 MiB at 4 KiB pages), a backstop only.</summary>
    public const int WriterAutoCheckpointPages = 16_384;

    /// <summary>The WAL file's size limit once reset after a checkpoint (<c>PRAGMA journal_size_limit</c>, 64 MiB): a
    /// transaction larger than that (an audit store's bulk index build), or a burst a reader's snapshot kept from being
    /// checkpointed, does not leave its size behind on disk. Set on both stores' writers.</summary>
    public const long JournalSizeLimitBytes = 64L * 1024 * 1024;

    private readonly string _connectionString;
    private readonly Func<bool> _stopped;
    private readonly Action<Exception> _failed;
    private readonly Lock _running = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    /// <param name="connectionString">A read-write, unpooled connection string of the store.</param>
    /// <param name="stopped">True once the store has stopped (a non-transient failure): then its files are left alone.</param>
    /// <param name="failed">Told of each failed checkpoint (on the loop's thread, outside the lock), to log it and to stop
    /// the store when the failure is not transient; the loop tries again at the next tick on a fresh connection.</param>
    public SqliteWalCheckpointer(string connectionString, Func<bool> stopped, Action<Exception> failed)
    {
        _connectionString = connectionString;
        _stopped = stopped;
        _failed = failed;
        _loop = Task.Run(() => RunAsync(_stop.Token), CancellationToken.None);
    }

    /// <summary>Tests only: called on the loop's thread at each tick, inside the lock <see cref="Exclusive{T}"/> takes,
    /// before the checkpoint.</summary>
    internal Action? OnTick { get; set; }

    /// <summary>Runs <paramref name="action"/> while no background checkpoint runs (and none starts). Reentrant.</summary>
    public T Exclusive<T>(Func<T> action)
    {
        lock (_running)
        {
            return action();
        }
    }

    /// <summary>Stops the loop (waiting for a checkpoint in progress) and closes its connection.</summary>
    public void Dispose()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        _stop.Cancel();
        try
        {
            _loop.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }

        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        SqliteConnection? connection = null;
        try
        {
            using var timer = new PeriodicTimer(Period);
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                try
                {
                    lock (_running)
                    {
                        if (cancellationToken.IsCancellationRequested)
                        {
                            return;
                        }

                        OnTick?.Invoke();
                        if (_stopped())
                        {
                            continue;
                        }

                        if (connection is null)
                        {
                            connection = new SqliteConnection(_connectionString);
                            connection.Open();
                            // Explicit, not the library's default: the database file is synced after the copy, before
                            // the writer may start the WAL file over the frames it copied.
                            using var pragma = connection.CreateCommand();
                            pragma.CommandText = "PRAGMA synchronous=FULL";
                            pragma.ExecuteNonQuery();
                        }

                        using var checkpoint = connection.CreateCommand();
                        checkpoint.CommandText = "PRAGMA wal_checkpoint(PASSIVE)";
                        checkpoint.ExecuteNonQuery();
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Busy or failing: the writer's backstop threshold still bounds the WAL file; a fresh connection next
                    // tick. Never ends the loop, so stopping it never throws.
                    connection?.Dispose();
                    connection = null;
                    _failed(ex);
                }
            }
        }
        finally
        {
            connection?.Dispose();
        }
    }
}
