using Nv.DbWriter;
using Nv.Host.Diagnostics;
using Nv.Wal;

namespace Nv.Host.Pipeline;

internal sealed partial class WritePipeline
{
    // Audit stage: writes the audit entries of every chunk committed so far in one audit batch (chunks that queued up
    // while the previous batch was being written go out together, so the audit store's per-commit cost is shared),
    // then answers their callers. Audit failures are absorbed by the coordinator (WARN + backfill), so a caller's
    // outcome never depends on the audit store.
    private const int MaxAuditBatch = 1024;

    private async Task AuditLoopAsync(CancellationToken cancellationToken)
    {
        var reader = _applied.Reader;
        var chunks = new List<AppliedChunk>();
        var records = new List<WalRecord>();
        var results = new List<ApplyResult>();
        try
        {
            while (await reader.WaitToReadAsync(cancellationToken))
            {
                chunks.Clear();
                records.Clear();
                results.Clear();
                while (records.Count < MaxAuditBatch && reader.TryRead(out var chunk))
                {
                    chunks.Add(chunk);
                    records.AddRange(chunk.Writes.ConvertAll(static w => w.Record!));
                    results.AddRange(chunk.Results);
                }

                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                await _audit.RecordAsync(records, results, cancellationToken);
                Log.StageBatch(_logger, "audit", records.Count, records[^1].Lsn.Value, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                CrashPoints.Hit(CrashPoints.AfterAudit);
                chunks.ForEach(Answer);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private static void Answer(AppliedChunk chunk)
    {
        for (var i = 0; i < chunk.Writes.Count; i++)
        {
            var write = chunk.Writes[i];
            var result = chunk.Results[i];
            var rejected = result.Status == ApplyStatus.Rejected;
            write.Answer(new WriteOutcome
            {
                RequestId = write.Request.RequestId,
                Status = rejected ? WriteStatus.Rejected : WriteStatus.Applied,
                Lsn = write.Record!.Lsn,
                RejectReason = result.RejectReason,
                Detail = rejected ? DescribeRejection(result.RejectReason) : null,
            });
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
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
