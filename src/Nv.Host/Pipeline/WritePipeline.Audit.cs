using Nv.DbWriter;
using Nv.Host.Diagnostics;

namespace Nv.Host.Pipeline;

internal sealed partial class WritePipeline
{
    // Audit stage: writes the chunk's audit entries after the commit, then answers the callers. Audit failures are
    // absorbed by the coordinator (WARN + backfill), so a caller's outcome never depends on the audit store.
    private async Task AuditLoopAsync(CancellationToken cancellationToken)
    {
        var reader = _applied.Reader;
        try
        {
            while (await reader.WaitToReadAsync(cancellationToken))
            {
                while (reader.TryRead(out var chunk))
                {
                    var records = chunk.Writes.ConvertAll(w => w.Record!);
                    var started = System.Diagnostics.Stopwatch.GetTimestamp();
                    await _audit.RecordAsync(records, chunk.Results, cancellationToken);
                    Log.StageBatch(_logger, "audit", records.Count, records[^1].Lsn.Value, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    CrashPoints.Hit(CrashPoints.AfterAudit);
                    Answer(chunk);
                }
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
                if (_audit.HasGap)
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
