using Microsoft.Extensions.Logging;
using Nv.Audit;
using Nv.Audit.Outbox;
using Nv.DbWriter;
using Nv.Wal;

namespace Nv.Host.Pipeline;

/// <summary>Writes audit entries after database commits and backfills the ones that failed, so none is lost or duplicated.</summary>
/// <remarks>
/// Failure policy: an audit write failure never fails the user's write. It is logged as a WARN per entry (dtoType,
/// operation, entityId, requestId), the audited position stops advancing (a gap), and <see cref="BackfillAsync"/>
/// later rebuilds the missing entries from the WAL records and the database's stored resolutions (exact before images).
/// Entry ids equal WAL record ids and the sink skips known ids, so a backfill never duplicates. A failure to *build* an
/// entry (pure computation: the diff, the hashes) is a bug, not an audit store failure: it is thrown to the caller
/// (the pipeline's audit stage faults; boot replay fails) instead of being retried forever by the backfill.
/// Positions: <see cref="Audited"/> is what the store has committed (in memory, ahead of its durable point); it is
/// stored in the sink in the same transaction as the entries, so after any crash the sink says where to resume. The
/// WAL's audited watermark moves only to durable positions (<see cref="MakeDurableAsync"/>).
/// One lock serialises the on-time path and the backfill: the sink has a single writer, and the audited position
/// only ever claims LSNs whose applied records all have their entry.
/// </remarks>
internal sealed partial class AuditCoordinator : IDisposable
{
    private const int BackfillBatchSize = 4096;

    private readonly IWriteAheadLog _wal;
    private readonly IDbWriter _db;
    private readonly IAuditSink _sink;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _lock = new(1, 1);

    private readonly PendingAuditEntries? _pending;
    private readonly Protection.KeyRing? _keys;
    private readonly List<Task> _background = []; // system entries recorded off a stage's path (see RecordSystemInBackground)
    private readonly SystemEntryQueue _systemEntries = new();
    private readonly AuditOptions? _auditOptions;
    private readonly TimeProvider _time;
    private Lsn _processedThrough;
    private Lsn _audited;
    private bool _gap;
    private bool _parked = true; // unknown at start: the first backfill looks
    private long _failures;
    private int? _indexRetryIn; // after a failed query-index build: maintenance passes to let go by before retrying it
    private int _indexRetryEvery = 1; // doubles after each failed retry, up to MaxIndexRetryPasses

    public AuditCoordinator(
        IWriteAheadLog wal, IDbWriter db, IAuditSink sink, ILogger<AuditCoordinator> logger, PendingAuditEntries? pending = null,
        PipelinePositions? positions = null, Microsoft.Extensions.Options.IOptions<AuditOptions>? auditOptions = null, TimeProvider? time = null,
        Protection.KeyRing? keys = null)
    {
        _keys = keys;
        _auditOptions = auditOptions?.Value;
        _time = time ?? TimeProvider.System;
        _wal = wal;
        _db = db;
        _sink = sink;
        _logger = logger;
        _pending = pending;
        Positions = positions ?? new PipelinePositions();
    }

    /// <summary>The audit store, for queries (reads need no lock: the store serves them beside its single writer).</summary>
    public IAuditSink Sink => _sink;

    /// <summary>The pipeline's positions, which this coordinator moves as entries are committed.</summary>
    public PipelinePositions Positions { get; }

    /// <summary>Builds the entry of an applied record (a seam for tests that inject a failing builder).</summary>
    internal Func<WalRecord, System.Text.Json.JsonElement?, AuditEntry> BuildEntry { get; set; } = AuditEntryFactory.FromWalRecord;

    /// <summary>The audit store is empty although the WAL's watermark says entries were written to it.</summary>
    public bool TrailLost { get; private set; }

    /// <summary>Every applied record at or below it has its entry committed to the audit store.</summary>
    public Lsn Audited => _audited;

    /// <summary>Whether some applied record is known to lack its audit entry.</summary>
    public bool HasGap => Volatile.Read(ref _gap);

    /// <summary>Whether system entries may be waiting on disk for the audit store (see <see cref="RecordSystemAsync"/>).</summary>
    public bool HasParked => Volatile.Read(ref _parked);

    /// <summary>Audit write failures since start.</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Opens the audit store. An unavailable store is not fatal: writes go on, entries are backfilled later.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        // Where the trail stands: the position the store recorded with its entries (it survives any crash with
        // them); a store that records none (an older schema, MongoDB) resumes from the WAL's durable watermark.
        _audited = _wal.AuditedLsn;
        try
        {
            await _sink.InitializeAsync(cancellationToken);
            if (await _sink.GetAuditedThroughAsync(cancellationToken) is { } stored)
            {
                _audited = stored;
            }
            else if (_audited.Value > 0
                && (await _sink.QueryAsync(new AuditQuery { Limit = 1 }, cancellationToken)).Entries.Count == 0)
            {
                // The WAL's watermark says entries up to it were durably written, yet the store is empty: it was deleted or
                // replaced. Boot replay refuses to start unless the WAL still holds every record to rebuild them from.
                TrailLost = true;
                _audited = Lsn.None;
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _gap = true;
            Log.AuditStoreUnavailable(_logger, ex);
        }

        _processedThrough = Lsn.Max(_processedThrough, _audited);
    }

    /// <summary>A durable point of the audit store; returns the audited position it covers, or null when the store is
    /// failing (the WAL's watermark then waits). Never throws for audit failures.</summary>
    public async Task<Lsn?> MakeDurableAsync(CancellationToken cancellationToken)
    {
        try
        {
            // A store that records no position commits durably (MongoDB j:true): what it committed is durable.
            var committed = _audited;
            return await _sink.MakeDurableAsync(cancellationToken) ?? committed;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.AuditDurablePointFailed(_logger, ex);
            return null;
        }
    }

    /// <summary>Audits a committed chunk (ascending LSN). Never throws for audit failures.</summary>
    /// <remarks>Throws only when an entry cannot be built (a bug: see the class remarks). A store failure while building
    /// (sealing an entry may read its data key from the key store) is an audit failure like any other: the backfill
    /// builds the entries again later.</remarks>
    public async Task RecordAsync(IReadOnlyList<WalRecord> records, IReadOnlyList<ApplyResult> results, CancellationToken cancellationToken)
    {
        var entries = new List<AuditEntry>(records.Count);
        DbWriterException? unbuilt = null;
        try
        {
            for (var i = 0; i < records.Count; i++)
            {
                if (results[i].Status is ApplyStatus.Applied or ApplyStatus.AlreadyApplied)
                {
                    AddEntries(entries, records[i], results[i].Before, results[i].Items);
                }
            }
        }
        catch (DbWriterException ex)
        {
            unbuilt = ex;
        }

        var last = records[^1].Lsn;
        await _lock.WaitAsync(cancellationToken);
        try
        {
            _processedThrough = last;
            if (unbuilt is not null)
            {
                foreach (var record in records)
                {
                    Log.AuditWriteFailed(_logger, unbuilt, record.DtoType, record.Operation.ToString().ToLowerInvariant(), record.EntityId,
                        record.RequestId, record.Lsn.Value);
                }

                MarkFailed(last, [], unbuilt);
                return;
            }

            if (_gap)
            {
                // After a failure the on-time path leaves everything to the backfill until it has caught up: entries
                // after a gap would sit in the chain before the missing ones, and the chain is kept in LSN order so that
                // entries rebuilt after a power loss land at the same sequence with the same hashes.
                MarkFailed(last, entries, null);
                return;
            }

            await _sink.AppendAsync(entries, last, cancellationToken);
            MarkAudited(last);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            MarkFailed(last, entries, ex);
        }
        finally
        {
            _lock.Release();
        }
    }

    private void MarkAudited(Lsn through)
    {
        _audited = Lsn.Max(_audited, through);
        Positions.AuditedThrough(_audited);
    }

    private void MarkFailed(Lsn last, List<AuditEntry> entries, Exception? exception)
    {
        _gap = true;
        Interlocked.Increment(ref _failures);
        _processedThrough = last;
        foreach (var entry in entries)
        {
            Log.AuditWriteFailed(_logger, exception, entry.DtoType, entry.Operation, entry.EntityId, entry.RequestId, entry.Lsn?.Value ?? 0);
        }
    }

    /// <summary>Writes a system entry (service start/stop, denials). Never throws for audit failures.</summary>
    /// <remarks>No WAL record backs these entries, so each is made durable before this returns (a durable point of the
    /// store: a power loss cannot take it back), and one the store cannot take is parked durably on local disk
    /// (<see cref="PendingAuditEntries"/>) and stored by the next backfill: it is lost only if parking fails too (logged).
    /// Concurrent callers share one append and one durable point (<see cref="SystemEntryQueue"/>): the first to get the
    /// writer stores every entry queued by then. <paramref name="cancellationToken"/> cancels only the wait for the writer:
    /// a caller cancelled before its entry was taken leaves nothing behind; once taken, the shared append runs to its end
    /// (others' entries ride on it), whatever one caller does.</remarks>
    public async Task RecordSystemAsync(AuditEntry entry, CancellationToken cancellationToken)
    {
        var waiting = _systemEntries.Add(entry);
        while (!waiting.Done.Task.IsCompleted)
        {
            try
            {
                await _lock.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (_systemEntries.TryRemove(waiting))
            {
                throw; // not taken: nothing of it is written
            }
            catch (OperationCanceledException)
            {
                await waiting.Done.Task; // taken by another caller's hold of the writer, which stores or parks it
                return;
            }

            try
            {
                // Under the writer no other taker runs, so an entry not done yet is still queued: this hold stores it.
                if (!waiting.Done.Task.IsCompleted)
                {
                    await StoreSystemEntriesAsync(_systemEntries.TakeAll());
                }
            }
            finally
            {
                _lock.Release();
            }
        }
    }

    // Caller holds the lock. Stores the batch with one append and one durable point, or parks each entry after a failure,
    // then completes every entry. Not cancellable: the batch holds other callers' entries.
    private async Task StoreSystemEntriesAsync(List<SystemEntryQueue.Waiting> batch)
    {
        try
        {
            await _sink.AppendAsync([.. batch.Select(static w => w.Entry)], CancellationToken.None);
            await _sink.MakeDurableAsync(CancellationToken.None);
        }
        catch (Exception ex)
        {
            Interlocked.Increment(ref _failures);
            foreach (var waiting in batch)
            {
                Log.SystemAuditWriteFailed(_logger, ex, waiting.Entry.Operation, waiting.Entry.RequestId);
                Park(waiting.Entry);
            }
        }

        foreach (var waiting in batch)
        {
            waiting.Done.TrySetResult();
        }
    }

    private void Park(AuditEntry entry)
    {
        if (_pending is null)
        {
            Log.SystemEntryLost(_logger, null, entry.Id, entry.Operation, "no pending-entry store is configured");
            return;
        }

        try
        {
            if (_pending.Park(entry))
            {
                Diagnostics.CrashPoints.Hit(Diagnostics.CrashPoints.AfterPark);
                Volatile.Write(ref _parked, true);
            }
            else
            {
                Log.SystemEntryLost(_logger, null, entry.Id, entry.Operation, $"{_pending.Capacity} entries are already waiting");
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            Log.SystemEntryLost(_logger, ex, entry.Id, entry.Operation, "it could not be written to disk");
        }
    }

    // Stores parked system entries (oldest first) and forgets each once stored. Caller holds the lock.
    private async Task<long> StoreParkedAsync(CancellationToken cancellationToken)
    {
        if (_pending is null || !Volatile.Read(ref _parked))
        {
            return 0;
        }

        var parked = _pending.Load((path, ex) => Log.ParkedEntryDamaged(_logger, ex, path));
        long inserted = 0;
        if (parked.Count > 0)
        {
            inserted = await _sink.AppendAsync([.. parked.Select(static p => p.Entry)], cancellationToken);
            await _sink.MakeDurableAsync(cancellationToken); // before the files go: a power loss must not take both
            Diagnostics.CrashPoints.Hit(Diagnostics.CrashPoints.AfterUnparkAppend);
            foreach (var entry in parked)
            {
                PendingAuditEntries.Remove(entry);
            }

            Log.ParkedEntriesStored(_logger, parked.Count, inserted);
        }

        Volatile.Write(ref _parked, false);
        return inserted;
    }

    /// <summary>Writes every missing entry for applied records above the audited watermark, up to <paramref name="upTo"/>
    /// (default: everything the on-time path has processed), then clears the gap.</summary>
    /// <returns>Entries inserted, or -1 if the backfill itself failed (the gap stays; it is retried later).</returns>
    public async Task<long> BackfillAsync(Lsn? upTo, Action<Lsn>? progress, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            var target = upTo ?? _processedThrough;
            if (upTo is { } boot)
            {
                _processedThrough = Lsn.Max(_processedThrough, boot);
            }

            // The WAL truncates only below what the audit store made durable, so records it no longer holds were audited.
            // Without this, a boot with the audit store unreadable and the WAL's watermarks lost started from LSN 1 and
            // failed on every retry (WalTruncatedException; found by the full-size CrashWindowTests after-unpark-append).
            var first = _wal.GetStatistics().FirstLsn;
            if (first.Value > 1 && _audited.Value < first.Value - 1)
            {
                // Said out loud: if an audit store ever lost durable entries, this is where it would show.
                Log.AuditedPositionBelowWal(_logger, _audited.Value, first.Value);
                MarkAudited(new Lsn(first.Value - 1));
            }

            long inserted = 0;
            var batch = new List<WalRecord>(BackfillBatchSize);
            await foreach (var record in _wal.ReadAsync(_audited.Next, cancellationToken))
            {
                if (record.Lsn > target)
                {
                    break;
                }

                batch.Add(record);
                if (batch.Count == BackfillBatchSize)
                {
                    inserted += await BackfillBatchAsync(batch, cancellationToken);
                    progress?.Invoke(batch[^1].Lsn);
                    batch.Clear();
                }
            }

            if (batch.Count > 0)
            {
                inserted += await BackfillBatchAsync(batch, cancellationToken);
                progress?.Invoke(batch[^1].Lsn);
            }

            _gap = false;
            if (target > _audited)
            {
                await _sink.AppendAsync([], target, cancellationToken);
                MarkAudited(target);
            }

            inserted += await StoreParkedAsync(cancellationToken);
            if (inserted > 0)
            {
                Log.AuditBackfilled(_logger, inserted, target.Value);
            }

            return inserted;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.AuditBackfillFailed(_logger, ex, _audited.Value);
            return -1;
        }
        finally
        {
            _lock.Release();
        }
    }

    private async Task<int> BackfillBatchAsync(List<WalRecord> batch, CancellationToken cancellationToken)
    {
        var entries = await EntriesFromStoredResolutionsAsync(batch, cancellationToken);
        var inserted = await _sink.AppendAsync(entries, batch[^1].Lsn, cancellationToken);
        Diagnostics.CrashPoints.Hit(Diagnostics.CrashPoints.AfterBackfillBatch);
        MarkAudited(batch[^1].Lsn);
        return inserted;
    }

    // The entries of a run of records (ascending, contiguous LSNs) as the database resolved them: one per record stored
    // as applied, with the before image read in its apply transaction. Every record must be resolved already.
    private async Task<List<AuditEntry>> EntriesFromStoredResolutionsAsync(IReadOnlyList<WalRecord> records, CancellationToken cancellationToken)
    {
        var resolutions = await _db.GetResolutionsAsync(new Lsn(records[0].Lsn.Value - 1), records.Count, cancellationToken);
        var byLsn = resolutions.ToDictionary(r => r.Lsn);
        var entries = new List<AuditEntry>(records.Count);
        foreach (var record in records)
        {
            if (!byLsn.TryGetValue(record.Lsn, out var resolution))
            {
                throw new InvalidOperationException($"WAL record {record.Lsn} has no stored resolution; it is not applied yet.");
            }

            if (resolution.Status == ApplyStatus.Applied)
            {
                AddEntries(entries, record, resolution.Before, resolution.Items);
            }
        }

        return entries;
    }

    // Encryption at rest: the entry of a record sealed under its subject's key is sealed under the same key (before, after
    // and changes; the hash covers the ciphertext). When that key is gone (the subject was erased before this entry was
    // written, e.g. by a backfill after the erasure), the entry names the key and holds no data: it is born erased.
    private AuditEntry Sealed(WalRecord record, AuditEntry entry)
    {
        if (record.PayloadKeyId is not { } keyId || record.Operation == WalOperation.Erase)
        {
            return entry;
        }

        return _keys is not null && _keys.TryGetKey(keyId, out var key)
            ? AuditEntrySealing.Seal(entry, key)
            : AuditEntrySealing.SealedWithoutData(entry, keyId);
    }

    /// <summary>The id of the audit entry of the request's record at <paramref name="lsn"/>, or null when the trail does not
    /// hold it (yet). For a retried custom event whose first attempt this process no longer remembers.</summary>
    public async Task<Guid?> FindEventEntryAsync(string requestId, string? userId, Lsn lsn, CancellationToken cancellationToken)
    {
        try
        {
            var page = await _sink.QueryAsync(new AuditQuery { RequestId = requestId, UserId = userId, Limit = 100 }, cancellationToken);
            return page.Entries.FirstOrDefault(e => e.Lsn == lsn)?.Id;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.EventEntryLookupFailed(_logger, ex);
            return null;
        }
    }

    public void Dispose() => _lock.Dispose();

    /// <summary>Signs a Merkle checkpoint of every audit chain that grew (at stop). Never throws for audit failures.</summary>
    public async Task CheckpointAsync(CancellationToken cancellationToken)
    {
        if (_sink is not IAuditProofs proofs)
        {
            return;
        }

        await _lock.WaitAsync(cancellationToken);
        try
        {
            var signed = await proofs.CheckpointAllAsync(cancellationToken);
            Diagnostics.CrashPoints.Hit(Diagnostics.CrashPoints.AfterCheckpointSign);
            Log.AuditCheckpointsSigned(_logger, signed.Count);
        }
        catch (AuditSigningKeyException ex)
        {
            // This process signs none (a tool without the host's key, said at open): the host's next checkpoint covers them.
            Log.AuditCheckpointNotSigned(_logger, ex.Message);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.AuditCheckpointFailed(_logger, ex);
        }
        finally
        {
            _lock.Release();
        }
    }
}
