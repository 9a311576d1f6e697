using System.Threading.Channels;
using Nv.Host.Diagnostics;
using Nv.Wal;

namespace Nv.Host.Pipeline;

internal sealed partial class WritePipeline
{
    // Commit stage: the only appender. Drains up to MaxBatchSize waiting requests, appends them (contiguous LSNs),
    // makes them durable with one flush, and hands the batch to the apply stage. Any WAL exception faults the
    // pipeline: the batch and everything queued behind it fail, and nothing is ever acknowledged again.
    private async Task CommitLoopAsync(CancellationToken cancellationToken)
    {
        var reader = _incoming.Reader;
        try
        {
            while (await reader.WaitToReadAsync(cancellationToken))
            {
                var batch = new List<PendingWrite>(Math.Min(_options.MaxBatchSize, 64));
                while (batch.Count < _options.MaxBatchSize && reader.TryRead(out var write))
                {
                    batch.Add(write);
                }

                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                try
                {
                    await CommitBatchAsync(batch, cancellationToken);
                    Log.StageBatch(_logger, "commit", batch.Count, batch[^1].Record!.Lsn.Value, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    FaultPipeline(ex, batch);
                    return;
                }

                await _committed.Writer.WriteAsync(batch, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            _committed.Writer.TryComplete();
        }
    }

    private async Task CommitBatchAsync(List<PendingWrite> batch, CancellationToken cancellationToken)
    {
        var midBatch = CrashPoints.IsArmed(CrashPoints.MidBatch) && batch.Count >= 2 ? batch.Count / 2 : -1;
        for (var i = 0; i < batch.Count; i++)
        {
            if (i == midBatch)
            {
                await _wal.FlushAsync(batch[i - 1].Record!.Lsn, cancellationToken);
                CrashPoints.Hit(CrashPoints.MidBatch);
            }

            batch[i].Record = await _wal.AppendAsync(BuildRecord(batch[i].Request), cancellationToken);
        }

        CrashPoints.Hit(CrashPoints.AfterWalAppend);
        await _wal.FlushAsync(batch[^1].Record!.Lsn, cancellationToken);
        CrashPoints.Hit(CrashPoints.AfterWalFlush);
    }

    private static readonly IReadOnlyDictionary<string, string> NoMetadata =
        new System.Collections.ObjectModel.ReadOnlyDictionary<string, string>(new Dictionary<string, string>());

    private WalRecord BuildRecord(WriteRequest request) => new()
    {
        Id = Guid.CreateVersion7(_time.GetUtcNow()),
        Service = _options.Service,
        Version = request.Version,
        Timestamp = _time.GetUtcNow(),
        Operation = request.Operation,
        DtoType = request.DtoType,
        EntityId = request.EntityId,
        Payload = request.Payload!.Value,
        ReplayKey = ReplayKey.Create(_options.Environment, _options.Service, request.Version, request.DtoType, request.EntityId),
        RequestId = request.RequestId,
        UserId = request.UserId,
        Reason = request.Reason,
        Metadata = request.Metadata is { Count: > 0 } metadata ? new Dictionary<string, string>(metadata, StringComparer.Ordinal) : NoMetadata,
        ExpectedLsn = request.ExpectedLsn,
    };

    private void FaultPipeline(Exception ex, List<PendingWrite> batch)
    {
        var fault = ex as WalFaultedException ?? new WalFaultedException("The write-ahead log failed: " + ex.Message, innerException: ex);
        Volatile.Write(ref _fault, fault);
        Log.WalFaulted(_logger, fault, fault.Path, fault.Errno);
        _incoming.Writer.TryComplete(fault);
        foreach (var write in batch)
        {
            write.Fail(fault);
        }

        while (_incoming.Reader.TryRead(out var queued))
        {
            queued.Fail(fault);
        }
    }
}
