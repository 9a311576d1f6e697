using Nv.DbWriter;
using Nv.Host.Diagnostics;
using Nv.Wal;

namespace Nv.Host.Pipeline;

internal sealed partial class WritePipeline
{
    private const int MaxApplyChunk = 1024;

    // Apply stage: the only user of IDbWriter.ApplyAsync. Records arrive in LSN order and are applied in that order;
    // a transient failure keeps them at the head of the backlog (answering their callers Pending: the write is durable)
    // and retries with exponential backoff. A non-transient database failure (corruption, an I/O error the store cannot
    // recover from) or any unexpected exception ends the loop, which faults the pipeline (RunStage): retrying a
    // deterministic failure forever would wedge every later write behind it. Applied callers are answered right after
    // the commit; the chunk then goes to the audit stage, off their path.
    private async Task ApplyLoopAsync(CancellationToken cancellationToken)
    {
        var reader = _committed.Reader;
        var backlog = new List<PendingWrite>();
        var delay = _options.InitialRetryDelay;
        try
        {
            while (true)
            {
                if (backlog.Count == 0)
                {
                    if (!await reader.WaitToReadAsync(cancellationToken))
                    {
                        return;
                    }
                }

                await TakeDurableBatchesAsync(reader, backlog);
                if (backlog.Count == 0)
                {
                    continue;
                }

                var chunk = backlog.GetRange(0, Math.Min(backlog.Count, MaxApplyChunk));
                var records = chunk.ConvertAll(w => w.Record!);
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                var span = NvActivities.StartBatch(NvActivities.ApplyName, chunk, chunk.Count);
                IReadOnlyList<ApplyResult> results;
                try
                {
                    results = await ApplyOrTransientAsync(records, cancellationToken);
                }
                catch (Exception ex)
                {
                    NvActivities.EndBatch(span, ex);
                    throw;
                }

                NvActivities.EndBatch(span, results[0].Status == ApplyStatus.Transient ? results[0].Error ?? "transient database failure" : null);
                Log.StageBatch(_logger, "apply", records.Count, records[^1].Lsn.Value, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (results[0].Status == ApplyStatus.Transient)
                {
                    AnswerPending(backlog, results[0].Error);
                    await Task.Delay(delay, _time, cancellationToken);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxRetryDelay.Ticks));
                    continue;
                }

                delay = _options.InitialRetryDelay;
                await _keys.AfterApplyAsync(records, results, cancellationToken);
                CrashPoints.Hit(CrashPoints.AfterDbWrite);
                backlog.RemoveRange(0, chunk.Count);
                AnswerApplied(chunk, results);
                _positions.AppliedThrough(records[^1].Lsn);
                _applied.Writer.TryWrite(new AppliedChunk(chunk, results));
                _lag.Release();
            }
        }
        finally
        {
            _applied.Writer.TryComplete();
        }
    }

    // Moves committed batches into the backlog once their flush completed, in LSN order: the first one is waited for,
    // later ones join only if already durable (so a chunk never waits for a flush it could have gone without). A failed
    // flush means the WAL faulted: that batch's callers get the fault and the pipeline stops taking writes; batches
    // already durable are still applied.
    private async Task TakeDurableBatchesAsync(System.Threading.Channels.ChannelReader<CommittedBatch> reader, List<PendingWrite> backlog)
    {
        while (backlog.Count < MaxApplyChunk && reader.TryPeek(out var next))
        {
            if (backlog.Count > 0 && !next.Durable.IsCompleted)
            {
                return;
            }

            reader.TryRead(out _);
            try
            {
                await next.Durable;
            }
            catch (Exception ex)
            {
                FaultPipeline(ex, next.Writes);
                continue;
            }

            if (Volatile.Read(ref _fault) is WalFaultedException fault)
            {
                // Flushed after an earlier flush failed (only a WAL that breaks fail-stop could do that): after a
                // fault nothing is acknowledged, so these callers get the fault too.
                next.Writes.ForEach(w => w.Fail(fault));
                continue;
            }

            CrashPoints.Hit(CrashPoints.AfterWalFlush);
            Log.StageBatch(_logger, "commit", next.Writes.Count, next.Writes[^1].Record!.Lsn.Value, System.Diagnostics.Stopwatch.GetElapsedTime(next.StartedTimestamp).TotalMilliseconds);
            _positions.Committed(next.Writes[^1].Record!.Lsn);
            backlog.AddRange(next.Writes);
        }
    }

    // A transient failure is reported as results (retried); a non-transient DbWriterException or anything unexpected is
    // thrown to the stage, which faults the pipeline.
    private async Task<IReadOnlyList<ApplyResult>> ApplyOrTransientAsync(List<WalRecord> records, CancellationToken cancellationToken)
    {
        IReadOnlyList<ApplyResult> results;
        try
        {
            results = await _db.ApplyAsync(records, cancellationToken);
        }
        catch (DbWriterException ex) when (ex.IsTransient)
        {
            Log.ApplyFailed(_logger, ex, records[0].Lsn.Value, records[^1].Lsn.Value);
            return [new ApplyResult { Lsn = records[0].Lsn, Status = ApplyStatus.Transient, Error = ex.Message }];
        }

        if (results.Count != records.Count)
        {
            throw new InvalidOperationException($"The database writer returned {results.Count} results for {records.Count} records.");
        }

        return results;
    }

    private static void AnswerApplied(List<PendingWrite> chunk, IReadOnlyList<ApplyResult> results)
    {
        for (var i = 0; i < chunk.Count; i++)
        {
            var write = chunk[i];
            var result = results[i];
            var rejected = result.Status == ApplyStatus.Rejected;
            write.OnApplied(new WriteOutcome
            {
                RequestId = write.Request.RequestId,
                Status = rejected ? WriteStatus.Rejected : WriteStatus.Applied,
                Lsn = write.Record!.Lsn,
                RejectReason = result.RejectReason,
                // What the store cannot hold, it says (a retry answered from the stored outcome gets the general reason).
                Detail = !rejected ? null
                    : result.RejectReason == RejectReason.Unstorable && result.Error is { } why ? why
                    : DescribeRejection(result.RejectReason, result.FailedItem),
                FailedItem = result.FailedItem,
                RecordId = write.Record.Id,
            });
        }
    }

    private static void AnswerPending(List<PendingWrite> backlog, string? error)
    {
        foreach (var write in backlog)
        {
            write.Answer(new WriteOutcome
            {
                RequestId = write.Request.RequestId,
                Status = WriteStatus.Pending,
                Lsn = write.Record!.Lsn,
                Detail = "The write is durable in the WAL at LSN " + write.Record.Lsn + " but the database is unavailable ("
                    + (error ?? "unknown error") + "); it will be applied when the database is back.",
                RecordId = write.Record.Id,
            });
        }
    }
}
