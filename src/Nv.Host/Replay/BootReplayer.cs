using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nv.DbWriter;
using Nv.Host.Pipeline;
using Nv.Wal;

namespace Nv.Host.Replay;

/// <summary>Brings the database and the audit trail in line with the WAL: applies every record above the applied
/// watermark (idempotently: the writer's stored resolutions make a re-application return its first outcome), then
/// backfills missing audit entries.</summary>
/// <remarks>Runs before the pipeline accepts writes; readiness stays false until it completes. A database that is
/// unavailable is retried with backoff (or, with <c>maxTransientRetries</c>, given up on for the CLI).</remarks>
internal sealed class BootReplayer
{
    private const int BatchSize = 2048;

    private readonly IWriteAheadLog _wal;
    private readonly IDbWriter _db;
    private readonly AuditCoordinator _audit;
    private readonly PipelineOptions _options;
    private readonly ILogger _logger;

    public BootReplayer(IWriteAheadLog wal, IDbWriter db, AuditCoordinator audit, IOptions<PipelineOptions> options, ILogger<BootReplayer> logger)
    {
        _wal = wal;
        _db = db;
        _audit = audit;
        _options = options.Value;
        _logger = logger;
    }

    /// <summary>Replays and backfills. <paramref name="progress"/> receives (done, total) records.</summary>
    public async Task<ReplaySummary> RunAsync(bool dryRun, Action<long, long>? progress, int? maxTransientRetries, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var stats = _wal.GetStatistics();
        Log.ReplayStarting(_logger, stats.FirstLsn.Value, stats.LastLsn.Value, stats.AppliedLsn.Value, stats.AuditedLsn.Value);
        var resolvedThrough = await _db.GetResolvedThroughAsync(cancellationToken);
        var start = _wal.AppliedLsn;
        var total = Math.Max(0, _wal.DurableLsn.Value - start.Value);

        long read = 0, replayed = 0, already = 0, rejected = 0;
        var batch = new List<WalRecord>(BatchSize);
        await foreach (var record in _wal.ReadAsync(start.Next, cancellationToken))
        {
            batch.Add(record);
            if (batch.Count < BatchSize)
            {
                continue;
            }

            await ApplyBatchAsync();
            batch.Clear();
        }

        if (batch.Count > 0)
        {
            await ApplyBatchAsync();
        }

        long backfilled = 0;
        if (!dryRun)
        {
            backfilled = await _audit.BackfillAsync(_wal.AppliedLsn, null, cancellationToken);
            if (backfilled < 0)
            {
                backfilled = 0;
            }

            await _wal.PersistWatermarksAsync(cancellationToken);
        }

        var summary = new ReplaySummary
        {
            RecordsRead = read,
            Replayed = replayed,
            AlreadyApplied = already,
            Rejected = rejected,
            AuditBackfilled = backfilled,
            DryRun = dryRun,
            Duration = clock.Elapsed,
        };
        Log.ReplayFinished(_logger, (long)summary.Duration.TotalMilliseconds, replayed, already, rejected, backfilled);
        return summary;

        async Task ApplyBatchAsync()
        {
            read += batch.Count;
            if (dryRun)
            {
                foreach (var r in batch)
                {
                    if (r.Lsn <= resolvedThrough)
                    {
                        already++;
                    }
                    else
                    {
                        replayed++;
                    }
                }
            }
            else
            {
                var results = await ApplyWithRetryAsync(batch, maxTransientRetries, cancellationToken);
                foreach (var result in results)
                {
                    switch (result.Status)
                    {
                        case ApplyStatus.Applied: replayed++; break;
                        case ApplyStatus.AlreadyApplied: already++; break;
                        case ApplyStatus.Rejected: rejected++; break;
                    }
                }

                _wal.AdvanceApplied(batch[^1].Lsn);
            }

            progress?.Invoke(read, total);
            if (read % (BatchSize * 64) < BatchSize)
            {
                Log.ReplayProgress(_logger, read, total);
            }
        }
    }

    private async Task<IReadOnlyList<ApplyResult>> ApplyWithRetryAsync(List<WalRecord> batch, int? maxRetries, CancellationToken cancellationToken)
    {
        var delay = _options.InitialRetryDelay;
        for (var attempt = 0; ; attempt++)
        {
            IReadOnlyList<ApplyResult> results;
            string? error;
            try
            {
                results = await _db.ApplyAsync(batch, cancellationToken);
                if (results.Count == batch.Count && results[0].Status != ApplyStatus.Transient)
                {
                    return results;
                }

                error = results.Count > 0 ? results[0].Error : "no results";
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                error = ex.Message;
            }

            if (maxRetries is { } max && attempt >= max)
            {
                throw new InvalidOperationException($"The database stayed unavailable while replaying lsn {batch[0].Lsn}: {error}");
            }

            Log.ReplayTransient(_logger, batch[0].Lsn.Value, error, (long)delay.TotalMilliseconds);
            await Task.Delay(delay, cancellationToken);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxRetryDelay.Ticks));
        }
    }
}
