using System.Threading.Channels;
using Nv.DbWriter;
using Nv.Host.Diagnostics;
using Nv.Wal;

namespace Nv.Host.Pipeline;

internal sealed partial class WritePipeline
{
    // Audit stage, off the caller's path (but for Audited acks): writes the entries of every chunk applied so far in one
    // audit batch, up to MaxAuditBatchSize records, so its batches grow with the backlog and the audit store's per-commit
    // cost is shared by more entries the further it falls behind; the lag gate bounds how far that is. When no write of the
    // batch waits for its entry it first gathers (up to AuditGatherRecords records or AuditGatherTime): at 64 callers the
    // applied chunks arrive as one wave of ~64 every few milliseconds, and an append per wave rewrote the same last pages
    // of every B-tree of the audit store each time (README, "Audit batches gathered off the caller's path"). Audit store
    // failures are absorbed by the coordinator (WARN + backfill) and never fail a write; an exception the coordinator
    // does not absorb (a bug building the entries) ends the loop and faults the pipeline (RunStage).
    private async Task AuditLoopAsync(CancellationToken cancellationToken)
    {
        var reader = _applied.Reader;
        var chunks = new List<AppliedChunk>();
        var records = new List<WalRecord>();
        var results = new List<ApplyResult>();
        // A gather never waits for more than a batch holds or the lag gate lets through, nor long against the lag bound.
        var gatherRecords = Math.Min(_options.AuditGatherRecords, Math.Min(_options.MaxAuditBatchSize, _options.MaxLagRecords));
        var gatherTime = TimeSpan.FromTicks(Math.Min(_options.AuditGatherTime.Ticks, _options.MaxLagTime.Ticks / 4));
        while (await reader.WaitToReadAsync(cancellationToken))
        {
            chunks.Clear();
            records.Clear();
            results.Clear();
            var awaited = false;
            var gatherUntil = 0L;
            while (true)
            {
                while (records.Count < _options.MaxAuditBatchSize && reader.TryRead(out var chunk))
                {
                    chunks.Add(chunk);
                    foreach (var write in chunk.Writes)
                    {
                        records.Add(write.Record!);
                        awaited |= write.Ack == AckLevel.Audited;
                    }

                    results.AddRange(chunk.Results);
                }

                if (awaited || records.Count >= gatherRecords || gatherTime <= TimeSpan.Zero)
                {
                    break;
                }

                gatherUntil = gatherUntil == 0 ? _time.GetTimestamp() + (long)(gatherTime.TotalSeconds * _time.TimestampFrequency) : gatherUntil;
                if (!await MoreToGatherAsync(reader, gatherUntil, cancellationToken))
                {
                    break;
                }
            }

            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var span = NvActivities.Source.HasListeners()
                ? NvActivities.StartBatch(NvActivities.AuditName, chunks.SelectMany(static c => c.Writes), records.Count)
                : null;
            await _audit.RecordAsync(records, results, cancellationToken);
            NvActivities.EndBatch(span);
            Log.StageBatch(_logger, "audit", records.Count, records[^1].Lsn.Value, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            CrashPoints.Hit(CrashPoints.AfterAudit);
            var inTrail = !_audit.HasGap && _audit.Audited >= records[^1].Lsn; // else parked for the backfill
            foreach (var chunk in chunks)
            {
                foreach (var write in chunk.Writes)
                {
                    write.OnAudited(inTrail);
                    write.Finish();
                    Done(write);
                }
            }

            _lag.Release();
        }
    }

    // Lets applied chunks gather for up to 2 ms more (the deadline's rest if shorter), then says whether to look again:
    // false when the deadline passed, or when the stage is draining (the channel completed), so a stop never waits for a
    // gather. A short sleep, not a wake-up per arriving chunk: at 64 callers a wave arrives every few milliseconds anyway.
    private async ValueTask<bool> MoreToGatherAsync(ChannelReader<AppliedChunk> reader, long until, CancellationToken cancellationToken)
    {
        var remainingMs = (double)(until - _time.GetTimestamp()) * 1000 / _time.TimestampFrequency;
        if (remainingMs < 1 || reader.Completion.IsCompleted)
        {
            return false; // under a millisecond left: a shorter delay would complete at once and spin
        }

        await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(2, remainingMs)), _time, cancellationToken);
        return !reader.Completion.IsCompleted;
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
