using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nv.DbWriter;
using Nv.Host.Pipeline;
using Nv.Wal;

namespace Nv.Host.Replay;

/// <summary>Brings the database and the audit trail in line with the WAL: backfills the audit entries an earlier run
/// left missing below the applied watermark, applies every record above it (idempotently: the writer's stored
/// resolutions make a re-application return its first outcome) while auditing each applied batch from its apply
/// results (<see cref="ReplayPipeline"/>), then backfills whatever that could not audit.</summary>
/// <remarks>Runs before the pipeline accepts writes; readiness stays false until it completes. A database that is
/// unavailable is retried with backoff (or, with <c>maxTransientRetries</c>, given up on for the CLI).</remarks>
internal sealed class BootReplayer
{
    private readonly IWriteAheadLog _wal;
    private readonly IDbWriter _db;
    private readonly Protection.KeyRing? _keys;
    private readonly AuditCoordinator _audit;
    private readonly PipelineOptions _options;
    private readonly ILogger _logger;

    public BootReplayer(IWriteAheadLog wal, IDbWriter db, AuditCoordinator audit, IOptions<PipelineOptions> options, ILogger<BootReplayer> logger,
        Protection.KeyRing? keys = null)
    {
        _keys = keys;
        _wal = wal;
        _db = db;
        _audit = audit;
        _options = options.Value;
        _logger = logger;
    }

    /// <summary>Replays and backfills. <paramref name="progress"/> receives (done, total) records.</summary>
    /// <remarks>The summary's <see cref="ReplaySummary.AuditBackfilled"/> counts every audit entry this replay wrote,
    /// from the apply results or by the backfill.</remarks>
    public async Task<ReplaySummary> RunAsync(bool dryRun, Action<long, long>? progress, int? maxTransientRetries, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var stats = _wal.GetStatistics();

        // Where each store stands is read from the store itself, where it is committed with the data: after a crash or a
        // power loss that is exactly what it holds. The WAL's watermark file only ever lags it.
        var start = await _db.GetResolvedThroughAsync(cancellationToken);
        // What the database holds past its watermark counts too (MongoDB's outcomes not visible yet, an erasure in
        // progress): a WAL that ends below it would issue those LSNs again, over outcomes of other records.
        var held = Lsn.Max(start, await _db.GetHighestLsnHeldAsync(cancellationToken));
        var audited = _audit.HasGap ? Lsn.None : _audit.Audited;
        Log.ReplayStarting(_logger, stats.FirstLsn.Value, stats.LastLsn.Value, start.Value, audited.Value);
        var highest = Lsn.Max(held, audited);
        if (highest > stats.LastLsn && _options.AcceptStoreAheadOfWal && !dryRun)
        {
            // The operator accepted that the WAL records between its end and what the stores hold are gone: LSNs continue
            // above the highest any store holds (recorded durably by the WAL), so none is ever issued twice.
            Log.StoreAheadAccepted(_logger, stats.LastLsn.Value, highest.Value);
            await _wal.ContinueAfterAsync(highest, cancellationToken);
            stats = _wal.GetStatistics();
        }
        else
        {
            CheckAgainstWal("database", start, held, stats);
            if (!_audit.HasGap)
            {
                CheckAgainstWal("audit", audited, audited, stats);
            }
        }

        if (!dryRun)
        {
            LowerWatermarksToStores(start, audited);
        }

        var total = Math.Max(0, _wal.DurableLsn.Value - start.Value);

        ReplayCounts counts;
        long backfilled = 0;
        if (dryRun)
        {
            counts = await CountAsync(start, total, progress, cancellationToken);
        }
        else
        {
            // Every record past the audited position gets its entry in this run: a long run appends without the audit
            // store's query indexes and builds them once at the end. (At most the records the WAL holds: with a gap the
            // audited position reads as none, and LSNs below the WAL's first were truncated or skipped.)
            var toAudit = _wal.DurableLsn.Value - Math.Max(audited.Value, stats.FirstLsn.Value - 1);
            await _audit.DeferIndexesAsync(Math.Max(0, toAudit), cancellationToken);

            // First the records an earlier run applied but did not audit, so the chain keeps LSN order.
            backfilled += Math.Max(0, await _audit.BackfillAsync(start, null, cancellationToken));
            counts = await new ReplayPipeline(_wal, _db, _audit, _options, _logger, _keys)
                .RunAsync(start, total, progress, maxTransientRetries, cancellationToken);

            // The safety net: whatever the replay could not audit (a gap, an audit store failure) is rebuilt from the WAL.
            var applied = Lsn.Max(start, _wal.DurableLsn);
            backfilled += counts.Audited + Math.Max(0, await _audit.BackfillAsync(applied, null, cancellationToken));

            // One durable point of each store, then the WAL's watermarks move to what those cover. The database's first:
            // a power loss during the index build then redoes none of its replay.
            var durableApplied = await _db.MakeDurableAsync(cancellationToken);
            _wal.AdvanceApplied(durableApplied);

            // Also the indexes a run stopped mid-replay left missing; the audit store's durable point covers the build.
            await _audit.BuildIndexesAsync(cancellationToken);
            if (await _audit.MakeDurableAsync(cancellationToken) is { } durableAudited)
            {
                _wal.AdvanceAudited(durableAudited);
            }

            _audit.Positions.Reset(durableApplied, _audit.Audited);
            await _wal.PersistWatermarksAsync(cancellationToken);
            Diagnostics.CrashPoints.Hit(Diagnostics.CrashPoints.AfterWatermarkPersist);
        }

        var summary = new ReplaySummary
        {
            RecordsRead = counts.Read,
            Replayed = counts.Replayed,
            AlreadyApplied = counts.AlreadyApplied,
            Rejected = counts.Rejected,
            AuditBackfilled = backfilled,
            DryRun = dryRun,
            Duration = clock.Elapsed,
        };
        Log.ReplayFinished(_logger, (long)summary.Duration.TotalMilliseconds, summary.Replayed, summary.AlreadyApplied, summary.Rejected, backfilled);
        return summary;
    }

    // The WAL's watermarks come from its checkpoint file, written when the stores' durable points covered them; a store
    // restored from a backup (or replaced) since holds less. Truncation follows the watermarks, so one left ahead of its
    // store would remove records the store still needs: with the audit store failing during this replay, the next
    // maintenance pass cut the WAL past entries it never got, lost for good. So they start from what each store holds
    // (nothing, for an audit store that could not be read: it may be behind too) and rise with the stores' durable points.
    private void LowerWatermarksToStores(Lsn applied, Lsn audited)
    {
        if (_wal.AppliedLsn > applied || _wal.AuditedLsn > audited)
        {
            Log.WatermarksAheadOfStores(_logger, _wal.AppliedLsn.Value, applied.Value, _wal.AuditedLsn.Value, audited.Value);
            _wal.LowerWatermarks(applied, audited);
        }
    }

    // A store may hold at most the WAL's last LSN (never more: LSNs are never reused) and must be resolved at least to just
    // before its first (the records in between must still be in the WAL to be replayed).
    // (An audit store that was deleted or replaced reads as holding nothing, see AuditCoordinator.TrailLost.)
    private static void CheckAgainstWal(string store, Lsn resolved, Lsn held, WalStatistics wal)
    {
        if (held > wal.LastLsn)
        {
            throw new StoreWalMismatchException(store, held, wal.FirstLsn, wal.LastLsn, storeAhead: true);
        }

        if (wal.FirstLsn.Value > resolved.Value + 1)
        {
            throw new StoreWalMismatchException(store, resolved, wal.FirstLsn, wal.LastLsn, storeAhead: false);
        }
    }

    // Dry run: reads the WAL and classifies each record against the database's resolved watermark; writes nothing.
    private async Task<ReplayCounts> CountAsync(Lsn start, long total, Action<long, long>? progress, CancellationToken cancellationToken)
    {
        var resolvedThrough = await _db.GetResolvedThroughAsync(cancellationToken);
        var counts = new ReplayCounts();
        await foreach (var record in _wal.ReadAsync(start.Next, cancellationToken))
        {
            if (record.Lsn <= resolvedThrough)
            {
                counts.AlreadyApplied++;
            }
            else
            {
                counts.Replayed++;
            }

            if (++counts.Read % _options.ReplayBatchSize == 0)
            {
                progress?.Invoke(counts.Read, total);
            }
        }

        progress?.Invoke(counts.Read, total);
        return counts;
    }
}
