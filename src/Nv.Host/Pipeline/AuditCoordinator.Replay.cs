using Nv.Audit;
using Nv.DbWriter;
using Nv.Wal;

namespace Nv.Host.Pipeline;

/// <summary>Boot replay's audit path: entries built from the apply results of a batch just committed, instead of a second
/// WAL pass and a read of the stored resolutions.</summary>
internal sealed partial class AuditCoordinator
{
    /// <summary>Builds the audit entries of a batch boot replay has durably applied (records in ascending, contiguous
    /// LSN order, with the results the database returned for them), for <see cref="AppendReplayedAsync"/>.</summary>
    /// <remarks>
    /// The entries are exactly those <see cref="BackfillAsync"/> would write: one per record whose stored outcome is
    /// <see cref="ApplyStatus.Applied"/>, with the before image read in the apply transaction. An
    /// <see cref="ApplyStatus.AlreadyApplied"/> result (resolved before a crash) does not say whether the record was
    /// applied or superseded, so for a batch holding one the stored resolutions are read, as the backfill does.
    /// Runs outside the lock (pure CPU apart from that read), so it can overlap the previous batch's append. Never
    /// throws for audit failures: a batch that cannot be built carries its failure and is left to the backfill.
    /// </remarks>
    public async Task<ReplayedAudit> PrepareReplayedAsync(IReadOnlyList<WalRecord> records, IReadOnlyList<ApplyResult> results, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(results);
        if (records.Count == 0 || results.Count != records.Count)
        {
            throw new ArgumentException($"{records.Count} records but {results.Count} results.", nameof(results));
        }

        var first = records[0].Lsn;
        var last = records[^1].Lsn;

        // A known gap: the batch's entries must wait for the backfill anyway, do not build them. (Contiguity with the
        // audited watermark is checked at append time: the previous batch may still be being appended now.)
        if (HasGap)
        {
            return new ReplayedAudit(first, last, null, null);
        }

        try
        {
            var entries = await BuildReplayedEntriesAsync(records, results, cancellationToken);
            return new ReplayedAudit(first, last, entries, null);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return new ReplayedAudit(first, last, null, ex);
        }
    }

    /// <summary>Appends a batch prepared by <see cref="PrepareReplayedAsync"/>; batches must come in LSN order.</summary>
    /// <remarks>The audited watermark moves to the batch's last LSN only after its entries are durably appended and
    /// only when everything before the batch is audited; otherwise (a gap before it, or an audit failure) the batch is
    /// left to the backfill, which rebuilds it from the WAL. Never throws for audit failures.</remarks>
    /// <returns>Entries inserted (0 when the batch was left to the backfill).</returns>
    public async Task<long> AppendReplayedAsync(ReplayedAudit batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        await _lock.WaitAsync(cancellationToken);
        try
        {
            _processedThrough = Lsn.Max(_processedThrough, batch.Last);

            // Checked again under the lock: with a gap before this batch, the chain would hold its entries before the
            // missing ones and the watermark could not move anyway.
            if (batch.Entries is null || _gap || _audited.Value < batch.First.Value - 1)
            {
                _gap = true;
                if (batch.Failure is not null)
                {
                    Interlocked.Increment(ref _failures);
                    Log.ReplayAuditFailed(_logger, batch.Failure, batch.First.Value, batch.Last.Value);
                }

                return 0;
            }

            var inserted = await _sink.AppendAsync(batch.Entries, batch.Last, cancellationToken);
            MarkAudited(batch.Last);
            return inserted;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _gap = true;
            Interlocked.Increment(ref _failures);
            Log.ReplayAuditFailed(_logger, ex, batch.First.Value, batch.Last.Value);
            return 0;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Before a boot replay that will append about <paramref name="entries"/> entries: lets the store defer its
    /// query indexes (<see cref="IAuditSink.DeferIndexesAsync"/>). Never throws for audit failures: the replay then keeps
    /// the indexes up as it goes.</summary>
    public async Task DeferIndexesAsync(long entries, CancellationToken cancellationToken)
    {
        try
        {
            await _sink.DeferIndexesAsync(entries, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.AuditIndexesFailed(_logger, ex, "deferring");
        }
    }

    /// <summary>At the end of every boot replay: builds whatever query index the store lacks (deferred by this replay, or
    /// left missing by one that stopped mid-way). Never throws for audit failures: queries scan until a later build
    /// (<see cref="RetryIndexBuildAsync"/>, from the pipeline's maintenance loop, or the next start) succeeds.</summary>
    public Task BuildIndexesAsync(CancellationToken cancellationToken) => BuildIndexesAsync(retry: false, cancellationToken);

    private const int MaxIndexRetryPasses = 64;

    /// <summary>Builds the query indexes again if the last build failed (a full disk at the end of a boot replay), so that
    /// audit queries stop scanning once the cause is gone, without a restart. Called after each maintenance pass; does
    /// nothing otherwise, nor while audit writes fail (a gap). Failed retries back off (the next after 2, 4, … up to 64
    /// passes), and the store refuses to start a build without room for it (<see cref="IAuditSink.BuildIndexesAsync"/>).
    /// The SQLite store takes its writer for one index at a time: appends wait for one index's build at most (about a
    /// second per million entries here), and the lag bound holds writers meanwhile.</summary>
    public async Task RetryIndexBuildAsync(CancellationToken cancellationToken)
    {
        if (_indexRetryIn is not { } wait || HasGap)
        {
            return;
        }

        if (wait > 0)
        {
            _indexRetryIn = wait - 1;
            return;
        }

        await BuildIndexesAsync(retry: true, cancellationToken);
    }

    private async Task BuildIndexesAsync(bool retry, CancellationToken cancellationToken)
    {
        try
        {
            await _sink.BuildIndexesAsync(cancellationToken);
            _indexRetryIn = null;
            _indexRetryEvery = 1;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            if (!retry)
            {
                _indexRetryIn = 0; // at the first maintenance pass
                Interlocked.Increment(ref _failures);
                Log.AuditIndexesFailed(_logger, ex, "building");
                return;
            }

            // The cause was logged with its stack at the first failure: each retry's WARN says why, and when the next comes.
            _indexRetryEvery = Math.Min(_indexRetryEvery * 2, MaxIndexRetryPasses);
            _indexRetryIn = _indexRetryEvery - 1;
            Log.AuditIndexRetryFailed(_logger, ex.Message, _indexRetryEvery);
        }
    }

    private async Task<List<AuditEntry>> BuildReplayedEntriesAsync(
        IReadOnlyList<WalRecord> records, IReadOnlyList<ApplyResult> results, CancellationToken cancellationToken)
    {
        // An AlreadyApplied result (resolved before a crash) does not say whether the record was applied or superseded:
        // such a batch is built from the stored resolutions, exactly as the backfill builds it.
        if (results.Any(static r => r.Status == ApplyStatus.AlreadyApplied))
        {
            return await EntriesFromStoredResolutionsAsync(records, cancellationToken);
        }

        var entries = new List<AuditEntry>(records.Count);
        for (var i = 0; i < records.Count; i++)
        {
            var result = results[i];
            if (result.Lsn != records[i].Lsn)
            {
                throw new InvalidOperationException($"Apply result {result.Lsn} does not belong to WAL record {records[i].Lsn}.");
            }

            switch (result.Status)
            {
                case ApplyStatus.Applied:
                    AddEntries(entries, records[i], result.Before, result.Items);
                    break;
                case ApplyStatus.Rejected:
                    break;
                default:
                    throw new InvalidOperationException($"WAL record {records[i].Lsn} is not resolved ({result.Status}).");
            }
        }

        return entries;
    }
}
