using Nv.DbWriter;
using Nv.Host.Diagnostics;
using Nv.Wal;

namespace Nv.Host.Pipeline;

internal sealed partial class WritePipeline
{
    // Audit stage, off the caller's path (but for Audited acks): writes the entries of every chunk applied so far in one
    // audit batch, up to MaxAuditBatchSize records, so its batches grow with the backlog and the audit store's per-commit
    // cost is shared by more entries the further it falls behind; the lag gate bounds how far that is. Audit store
    // failures are absorbed by the coordinator (WARN + backfill) and never fail a write; an exception the coordinator
    // does not absorb (a bug building the entries) ends the loop and faults the pipeline (RunStage).
    private async Task AuditLoopAsync(CancellationToken cancellationToken)
    {
        var reader = _applied.Reader;
        var chunks = new List<AppliedChunk>();
        var records = new List<WalRecord>();
        var results = new List<ApplyResult>();
        while (await reader.WaitToReadAsync(cancellationToken))
        {
            chunks.Clear();
            records.Clear();
            results.Clear();
            while (records.Count < _options.MaxAuditBatchSize && reader.TryRead(out var chunk))
            {
                chunks.Add(chunk);
                foreach (var write in chunk.Writes)
                {
                    records.Add(write.Record!);
                }

                results.AddRange(chunk.Results);
            }

            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var span = NvActivities.Source.HasListeners()
                ? NvActivities.StartBatch(NvActivities.AuditName, chunks.SelectMany(static c => c.Writes), records.Count)
                : null;
            await _audit.RecordAsync(records, results, cancellationToken);
            NvActivities.EndBatch(span);
            Log.StageBatch(_logger, "audit", records.Count, records[^1].Lsn.Value, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            CrashPoints.Hit(CrashPoints.AfterAudit);
            foreach (var chunk in chunks)
            {
                foreach (var write in chunk.Writes)
                {
                    write.OnAudited();
                    write.Finish();
                    Done(write);
                }
            }

            _lag.Release();
        }
    }

    // Periodic backfill while running: only does work when an audit write failed.
    private async Task BackfillLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var timer = new PeriodicTimer(_options.AuditBackfillInterval, _time);
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                if (_audit.HasGap || _audit.HasParked)
                {
                    await _audit.BackfillAsync(null, null, cancellationToken);
                    _lag.Release();
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
