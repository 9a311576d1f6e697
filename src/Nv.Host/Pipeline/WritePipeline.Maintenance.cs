using Nv.Wal;

namespace Nv.Host.Pipeline;

internal sealed partial class WritePipeline
{
    // Rotation: segments wholly below both watermarks (and past retention) are removed, then the database forgets the
    // resolutions and tombstones of the removed records, and the request outcomes older than the idempotency retention. Order matters: the WAL goes first, so a crash in between
    // leaves extra resolutions (harmless), never a replayable record without its resolution. Then the audit store's
    // retention; after each pass, the audit store's query indexes if the last build of them failed.
    private async Task MaintenanceLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var timer = new PeriodicTimer(_options.MaintenanceInterval, _time);
            using var draining = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _draining.Token);
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                await RunMaintenanceAsync(cancellationToken);
                // Here, not in RunMaintenanceAsync: the durable-point loop runs that too when the WAL is over its limit. Ended
                // by the start of a stop, not its end: the build holds the audit store's writer, which the draining audit
                // stage needs.
                try
                {
                    await _audit.RetryIndexBuildAsync(draining.Token);
                }
                catch (OperationCanceledException) when (draining.IsCancellationRequested)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One rotation pass; returns the first LSN the WAL still holds.</summary>
    internal async Task<Lsn> RunMaintenanceAsync(CancellationToken cancellationToken)
    {
        try
        {
            var held = _wal.GetStatistics().FirstLsn;
            var first = await _wal.TruncateAsync(cancellationToken);
            Diagnostics.CrashPoints.Hit(Diagnostics.CrashPoints.AfterWalTruncate);
            if (held.Value > 0 && first > held)
            {
                await RecordTruncationAsync(held, first, cancellationToken);
            }

            if (first.Value > 1)
            {
                await _db.PurgeAsync(new Lsn(first.Value - 1), cancellationToken);
                Diagnostics.CrashPoints.Hit(Diagnostics.CrashPoints.AfterResolutionPurge);
            }

            await PurgeExpiredRequestsAsync(cancellationToken);
            await _audit.ApplyRetentionAsync(cancellationToken);
            return first;
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not WalFaultedException)
        {
            Log.MaintenanceFailed(_logger, ex);
            return Lsn.None;
        }
    }

    // Request outcomes live for the idempotency retention, independently of the WAL: only their age removes them.
    private async Task PurgeExpiredRequestsAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _db.PurgeRequestsAsync(_time.GetUtcNow() - _options.IdempotencyRetention, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.RequestPurgeFailed(_logger, ex);
        }
    }
}
