namespace Nv.Audit.Mongo;

/// <summary>The MongoDB audit store's background checkpoint pass (see <c>MongoAuditSink.Merkle.cs</c>).</summary>
/// <remarks>Every <see cref="AuditOptions.CheckpointInterval"/> (at most 30 s) each chain is caught up and signed when due
/// by count or by age, each chain on its own: one that fails (a broken chain, the store refusing an insert) is logged and
/// recorded in its own chain as a <c>checkpoint-failed</c> system entry, as the SQLite store records it, and the other
/// chains are still checkpointed. The entry is best effort: when the store cannot take it either, the WARN remains. Runs
/// on a thread-pool thread until the sink is disposed.</remarks>
internal sealed partial class MongoAuditSink
{
    // Every interval: each chain caught up, and signed when due by count or by age. Ends when the sink is disposed.
    private async Task SignDueCheckpointsLoopAsync(CancellationToken cancellationToken)
    {
        var period = _options.CheckpointInterval > TimeSpan.Zero && _options.CheckpointInterval < TimeSpan.FromSeconds(30)
            ? _options.CheckpointInterval
            : TimeSpan.FromSeconds(30);
        using var timer = new PeriodicTimer(period);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken) && !_disposed)
            {
                try
                {
                    await SignDueCheckpointsAsync(period, cancellationToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
                {
                    Log.CheckpointFailed(_logger, "*", period.TotalSeconds, ex);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task SignDueCheckpointsAsync(TimeSpan period, CancellationToken cancellationToken)
    {
        var merkle = _merkle;
        List<AuditEntry>? failed = null;
        foreach (var name in await ChainNamesAsync(cancellationToken))
        {
            long? treeSize = null;
            long? lastCheckpointSize = null;
            await merkle.Gate.WaitAsync(cancellationToken);
            try
            {
                var chain = await CaughtUpAsync(merkle, name, cancellationToken);
                var size = chain.Tree.Size;
                var last = chain.Latest?.Checkpoint.TreeSize ?? 0;
                (treeSize, lastCheckpointSize) = (size, last);
                var byCount = _options.CheckpointEveryEntries > 0 && size - last >= _options.CheckpointEveryEntries;
                var byTime = _options.CheckpointInterval > TimeSpan.Zero && DateTimeOffset.UtcNow - chain.LastCheckpointAt >= _options.CheckpointInterval;
                if (size > last && (byCount || byTime))
                {
                    var signed = await SignAsync(merkle, chain, cancellationToken);
                    Log.CheckpointSigned(_logger, name, signed.Checkpoint.TreeSize, signed.Checkpoint.RootHash.ToHex());
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
            {
                Log.CheckpointFailed(_logger, name, period.TotalSeconds, ex);
                (failed ??= []).Add(CheckpointFailedEntry(name, ex, treeSize, lastCheckpointSize));
            }
            finally
            {
                merkle.Gate.Release();
            }
        }

        if (failed is not null)
        {
            await RecordCheckpointFailuresAsync(failed, cancellationToken);
        }
    }

    // A failed automatic checkpoint is a system-events entry of its chain (what SqliteAuditSink.Merkle.cs records too).
    private static AuditEntry CheckpointFailedEntry(string chain, Exception failure, long? treeSize, long? lastCheckpointSize)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal) { ["exception"] = failure.GetType().Name };
        if (treeSize is { } size)
        {
            metadata["treeSize"] = size.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (lastCheckpointSize is { } last)
        {
            metadata["lastCheckpointSize"] = last.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return AuditEntryFactory.SystemEvent(chain, NvOperations.CheckpointFailed, "audit", failure.Message, metadata);
    }

    // Appended by the store itself (no WAL record backs them), journaled like every insert; outside the Merkle gate.
    private async Task RecordCheckpointFailuresAsync(List<AuditEntry> entries, CancellationToken cancellationToken)
    {
        try
        {
            await AppendAsync(entries, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            Log.SystemEntryFailed(_logger, NvOperations.CheckpointFailed, ex);
        }
    }
}
