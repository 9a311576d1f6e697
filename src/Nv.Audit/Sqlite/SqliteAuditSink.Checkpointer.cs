using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Nv.Audit.Sqlite;

/// <summary>Background SQLite WAL checkpointing, so appends do not pay for copying the WAL into the database file.</summary>
/// <remarks>SQLite's automatic checkpoint runs inside the committing call and roughly doubles the page writes an append
/// makes. Here a separate connection runs a PASSIVE checkpoint every <see cref="WalCheckpointEvery"/> on another thread
/// (it never blocks the writer or readers, and skips pages it cannot copy yet). Not on every tick: each run copies every
/// page the appends changed since the last run once, however often they rewrote it (index leaves, the last page of each
/// table), so a run every half second copies far fewer pages than one every tick (README, "Benchmarks"). The writer
/// keeps an automatic checkpoint at a high threshold (<see cref="WriterAutoCheckpointPages"/>) as a bound on the WAL if
/// this loop falls behind or fails.
/// Durability is unchanged: a commit is durable once its WAL frames are synced; checkpoints only move pages.
/// The same loop signs overdue Merkle checkpoints while no appends arrive (see <see cref="SignOverdueCheckpoints"/>).</remarks>
internal sealed partial class SqliteAuditSink
{
    /// <summary>How often the background loop runs (overdue Merkle checkpoints are signed on each run).</summary>
    private static readonly TimeSpan Period = TimeSpan.FromMilliseconds(100);

    /// <summary>How often the background loop copies the SQLite WAL file into the database file.</summary>
    private static readonly TimeSpan WalCheckpointEvery = TimeSpan.FromMilliseconds(500);

    /// <summary>The writer's own automatic checkpoint threshold (pages), a backstop only.</summary>
    private const int WriterAutoCheckpointPages = 16_384;

    private CancellationTokenSource? _checkpointStop;
    private Task? _checkpointLoop;

    private void StartCheckpointer()
    {
        _checkpointStop = new CancellationTokenSource();
        var token = _checkpointStop.Token;
        _checkpointLoop = Task.Run(() => CheckpointLoopAsync(token), CancellationToken.None);
    }

    private async Task StopCheckpointerAsync()
    {
        if (_checkpointStop is null)
        {
            return;
        }

        await _checkpointStop.CancelAsync();
        try
        {
            await _checkpointLoop!;
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }

        _checkpointStop.Dispose();
        _checkpointStop = null;
    }

    private async Task CheckpointLoopAsync(CancellationToken cancellationToken)
    {
        await using var connection = new SqliteConnection(_writeConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using (var pragma = connection.CreateCommand())
        {
            pragma.CommandText = "PRAGMA synchronous=FULL;";
            await pragma.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var checkpoint = connection.CreateCommand();
        checkpoint.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
        using var timer = new PeriodicTimer(Period);
        var lastCheckpoint = System.Diagnostics.Stopwatch.GetTimestamp();
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            if (System.Diagnostics.Stopwatch.GetElapsedTime(lastCheckpoint) >= WalCheckpointEvery)
            {
                lastCheckpoint = System.Diagnostics.Stopwatch.GetTimestamp();
                try
                {
                    await checkpoint.ExecuteNonQueryAsync(cancellationToken);
                }
                catch (SqliteException ex)
                {
                    // Busy or failing: the writer's backstop threshold still bounds the WAL; try again next time.
                    Log.WalCheckpointFailed(_logger, ex);
                }
            }

            await SignOverdueCheckpoints(cancellationToken);
        }
    }

    // Time-based Merkle checkpoints are otherwise checked only on append, so a chain that grew and then went quiet would
    // stay unsigned until its next append or the shutdown checkpoint. Each tick signs every loaded chain that grew and
    // whose last checkpoint is older than CheckpointInterval. It only takes the lock when it is free (an append running
    // now checks the same condition itself), and CheckpointIfDue never throws.
    private async Task SignOverdueCheckpoints(CancellationToken cancellationToken)
    {
        if (_options.CheckpointInterval <= TimeSpan.Zero || !await _gate.WaitAsync(0, cancellationToken))
        {
            return;
        }

        try
        {
            if (_disposed || _signer is null || _syncFault is not null)
            {
                return; // a store stopped after a failed sync signs nothing more (see ExecuteSynced)
            }

            // The chains this writer has loaded, reloaded from the file when another process wrote to it meanwhile.
            var names = _chains.Keys.ToList();
            ForgetChainsIfChangedElsewhere();
            List<(ChainState, Exception)>? failed = null;
            foreach (var name in names)
            {
                ChainState chain;
                try
                {
                    chain = Chain(name);
                }
                catch (Exception ex) when (ex is AuditChainBrokenException or Microsoft.Data.Sqlite.SqliteException)
                {
                    Log.CheckpointFailed(_logger, name, Period.TotalSeconds, ex);
                    continue;
                }

                if (CheckpointIfDue(chain) is { } failure)
                {
                    (failed ??= []).Add((chain, failure));
                }
            }

            if (failed is not null)
            {
                RecordCheckpointFailures(failed);
            }
        }
        finally
        {
            _gate.Release();
        }
    }
}
