using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Nv.Shared.Sqlite;

namespace Nv.Audit.Sqlite;

/// <summary>The audit store's background work: SQLite WAL checkpoints, so appends do not pay for copying the WAL into the
/// database file, and the signing of overdue Merkle checkpoints.</summary>
/// <remarks>The checkpoints are <see cref="SqliteWalCheckpointer"/>'s, as for the entity store (PASSIVE, on a connection
/// of its own, every <see cref="SqliteWalCheckpointer.Period"/>; the writer's own automatic checkpoint at
/// <see cref="SqliteWalCheckpointer.WriterAutoCheckpointPages"/> is a backstop). Durability is unchanged: a commit is
/// durable once its WAL frames are synced; checkpoints only move pages. A second loop signs overdue Merkle checkpoints
/// every <see cref="Period"/> while no appends arrive (see <see cref="SignOverdueCheckpoints"/>).</remarks>
internal sealed partial class SqliteAuditSink
{
    /// <summary>How often overdue Merkle checkpoints are looked for.</summary>
    private static readonly TimeSpan Period = TimeSpan.FromMilliseconds(100);

    private SqliteWalCheckpointer? _walCheckpointer;
    private CancellationTokenSource? _checkpointStop;
    private Task? _checkpointLoop;

    private void StartCheckpointer()
    {
        // A busy or passing failure is logged and tried again at the next tick. An I/O error (the checkpoint's sync of the
        // WAL file or of the database file failed) stops the store as a failed synced commit does (ExecuteSynced), and a
        // stopped store's files are left alone, as the entity store's are.
        _walCheckpointer = new SqliteWalCheckpointer(_writeConnectionString, () => _syncFault is not null, WalCheckpointFailed);
        _checkpointStop = new CancellationTokenSource();
        var token = _checkpointStop.Token;
        _checkpointLoop = Task.Run(() => SignOverdueLoopAsync(token), CancellationToken.None);
    }

    private void WalCheckpointFailed(Exception exception)
    {
        Log.WalCheckpointFailed(_logger, exception);
        if (exception is SqliteException { SqliteErrorCode: SQLitePCL.raw.SQLITE_IOERR } io)
        {
            StopAfterSyncFailure(io);
        }
    }

    private async Task StopCheckpointerAsync()
    {
        _walCheckpointer?.Dispose();
        _walCheckpointer = null;
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

    private async Task SignOverdueLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(Period);
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
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
