using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Nv.Wal;

namespace Nv.DbWriter.Sqlite;

internal sealed partial class SqliteDbWriter
{
    public Task<IReadOnlyList<ApplyResult>> ApplyAsync(IReadOnlyList<WalRecord> batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        cancellationToken.ThrowIfCancellationRequested();
        if (batch.Count == 0)
        {
            return Task.FromResult<IReadOnlyList<ApplyResult>>([]);
        }

        Validate(batch);
        lock (_gate)
        {
            return Task.FromResult<IReadOnlyList<ApplyResult>>(ApplyLocked(batch, cancellationToken));
        }
    }

    /// <summary>Checks every record before anything is written, so a malformed batch writes nothing at all.</summary>
    private static void Validate(IReadOnlyList<WalRecord> batch)
    {
        for (var i = 0; i < batch.Count; i++)
        {
            var record = batch[i];
            if (record is null)
            {
                throw new ArgumentException($"Batch item {i} is null.", nameof(batch));
            }

            if (record.Lsn.Value <= 0)
            {
                throw new ArgumentException($"Batch item {i} has no LSN (it was never appended to the WAL).", nameof(batch));
            }

            if (record.Operation == WalOperation.Batch)
            {
                ApplyRules.ValidateBatch(record, nameof(batch));
                continue;
            }

            if (record.Operation != WalOperation.AuditEvent)
            {
                // An audit event names no table (its dtoType, empty when none, is only carried to its audit entry).
                SqliteIdentifiers.ThrowIfInvalidDtoType(record.DtoType, nameof(batch));
            }

            if (string.IsNullOrEmpty(record.EntityId) || record.ReplayKey is null || record.RequestId is null)
            {
                throw new ArgumentException($"Record at LSN {record.Lsn} lacks an entity id, replay key or request id.", nameof(batch));
            }

            if (record.Operation is not (WalOperation.Create or WalOperation.Update or WalOperation.Delete or WalOperation.AuditEvent or WalOperation.Erase))
            {
                throw new ArgumentException($"Record at LSN {record.Lsn} has an unknown operation {record.Operation}.", nameof(batch));
            }

            if (record.Operation == WalOperation.Erase)
            {
                if (string.IsNullOrEmpty(record.Subject))
                {
                    throw new ArgumentException($"Erase record at LSN {record.Lsn} names no subject.", nameof(batch));
                }

                continue;
            }

            if (record.PayloadUnavailable)
            {
                // Sealed under a key that is gone or was never given to the log: applying it would write nothing true.
                throw new DbWriterException(
                    $"WAL record {record.Lsn} is sealed under data key {record.PayloadKeyId}, which is not available (destroyed by an erasure, or no master key); it cannot be applied.",
                    DbErrorClass.Internal);
            }

            if (record.Operation != WalOperation.Delete && record.Payload.ValueKind != JsonValueKind.Object)
            {
                throw new ArgumentException(
                    $"Record at LSN {record.Lsn} ({record.Operation}) needs a JSON object payload, not {record.Payload.ValueKind}.", nameof(batch));
            }
        }
    }

    private ApplyResult[] ApplyLocked(IReadOnlyList<WalRecord> batch, CancellationToken cancellationToken)
    {
        ThrowIfStopped();
        var connection = EnsureOpen();
        _requestIds?.StartBuildIfDue(StoredRequestIds); // between transactions: see SqliteRequestIdFilter
        var started = Stopwatch.GetTimestamp();
        var first = batch[0].Lsn.Value;
        var last = batch[^1].Lsn.Value;
        SqliteTable?[] tables;
        var firstTable = new int[batch.Count];
        try
        {
            tables = ResolveTables(connection, DtoTypesOf(batch, firstTable));
        }
        catch (SqliteException ex) when (SqliteErrors.IsTransient(ex))
        {
            _logger.BatchTransient(ex, batch.Count, first, last, ex.Message);
            return Transient(batch, ex.Message, started);
        }
        catch (SqliteException ex)
        {
            _logger.BatchFailed(ex, batch.Count, first, last);
            throw Stop(SqliteErrors.Wrap(ex, "table creation"));
        }

        var results = new ApplyResult[batch.Count];
        var resolvedThrough = _resolvedThrough;
        var maxResolutionLsn = _maxResolutionLsn;
        int applied = 0, alreadyApplied = 0, rejected = 0;
        SqliteTransaction? transaction = null;
        try
        {
            // IMMEDIATE takes the write lock now, so contention shows up before any work is done.
            transaction = connection.BeginTransaction(deferred: false);
            if (InjectBatchFailure?.Invoke() is { } injected)
            {
                throw injected;
            }

            var advance = false;
            for (var i = 0; i < batch.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var record = batch[i];
                var result = record.Operation switch
                {
                    WalOperation.Batch => ApplyBatch(new ArraySegment<SqliteTable?>(tables, firstTable[i], record.Items!.Count), record, resolvedThrough,
                        ref maxResolutionLsn, ref advance),
                    WalOperation.Erase or WalOperation.AuditEvent => ApplyOne(null, record, resolvedThrough, ref maxResolutionLsn, ref advance, transaction),
                    _ => ApplyOne(tables[firstTable[i]], record, resolvedThrough, ref maxResolutionLsn, ref advance, transaction),
                };
                results[i] = result;
                switch (result.Status)
                {
                    case ApplyStatus.Applied: applied++; break;
                    case ApplyStatus.AlreadyApplied: alreadyApplied++; break;
                    default: rejected++; break;
                }
            }

            if (advance)
            {
                resolvedThrough = _resolutions!.Advance(resolvedThrough);
            }

            transaction.Commit();
        }
        catch (SqliteException ex) when (SqliteErrors.IsTransient(ex))
        {
            Rollback(transaction);
            _logger.BatchTransient(ex, batch.Count, first, last, ex.Message);
            return Transient(batch, ex.Message, started);
        }
        catch (SqliteException ex)
        {
            Rollback(transaction);
            _logger.BatchFailed(ex, batch.Count, first, last);
            throw Stop(SqliteErrors.Wrap(ex, "batch apply"));
        }
        catch
        {
            Rollback(transaction);
            throw;
        }
        finally
        {
            DisposeQuietly(transaction);
        }

        // Only now is the batch durable: publish the new committed state.
        _resolvedThrough = resolvedThrough;
        _maxResolutionLsn = maxResolutionLsn;
        _metrics.BatchDone(Stopwatch.GetElapsedTime(started), committed: true);
        _metrics.Records(ApplyStatus.Applied, applied);
        _metrics.Records(ApplyStatus.AlreadyApplied, alreadyApplied);
        _metrics.Records(ApplyStatus.Rejected, rejected);
        _logger.BatchCommitted(batch.Count, first, last, applied, alreadyApplied, rejected, resolvedThrough);
        return results;
    }

    // Runs inside the batch transaction the connection holds (raw statements join it).
    private ApplyResult ApplyOne(SqliteTable? table, WalRecord record, long resolvedThrough,
        ref long maxResolutionLsn, ref bool advance, SqliteTransaction transaction)
    {
        var lsn = record.Lsn.Value;

        // 1. A stored outcome is final: replay returns it without touching the entity.
        if (lsn <= maxResolutionLsn)
        {
            var stored = _resolutions!.Find(lsn);
            if (stored is not null)
            {
                ApplyRules.ThrowIfIssuedTwice(record, stored.WalId);
                return FromResolution(record, stored);
            }

            if (lsn <= resolvedThrough)
            {
                // Resolved once, then purged with WAL truncation: the database already reflects it.
                return new ApplyResult
                {
                    Lsn = record.Lsn,
                    Status = ApplyStatus.AlreadyApplied,
                    After = ApplyRules.AfterImage(record),
                    Error = "The resolution of this record was purged; its outcome is no longer known.",
                };
            }
        }

        if (record.Operation == WalOperation.Erase)
        {
            return ApplyErase(record, ref maxResolutionLsn, ref advance, resolvedThrough, transaction);
        }

        if (record.Operation == WalOperation.AuditEvent)
        {
            return ResolveAuditEvent(record, resolvedThrough, ref maxResolutionLsn, ref advance);
        }

        // 2. Decide against the current row, read in this transaction. A type without a table (its name differs only in
        // case from a stored one: ResolveTables) cannot be stored, deterministically.
        byte[]? document = null;
        long storedLsn = 0;
        var deleted = false;
        var exists = table is not null && table.TryRead(record.EntityId, out document, out storedLsn, out deleted);
        var live = exists && !deleted;
        var before = live ? document : null;
        var (status, reason) = table is null ? (ApplyStatus.Rejected, RejectReason.Unstorable) : ApplyRules.Decide(record, exists, live, storedLsn);
        if (status == ApplyStatus.AlreadyApplied)
        {
            // Page-LSN rule: a later record already wrote this slot; this one is superseded and its before image unknown.
            before = null;
        }
        else if (status == ApplyStatus.Applied)
        {
            if (record.Operation == WalOperation.Delete)
            {
                table!.Write(record.EntityId, default, tombstone: true, lsn, record.ReplayKey, record.Id);
            }
            else
            {
                table!.Write(record.EntityId, SerializePayload(record.Payload), tombstone: false, lsn, record.ReplayKey, record.Id);
            }
        }

        _resolutions!.Insert(lsn, record.Id, record.RequestId, status, reason, before, record.PayloadKeyId);
        _requests!.Insert(record, status, reason); // the request's outcome commits with its write (first record wins)
        _keys!.Assign(record, status); // the key its payload is sealed with now belongs to its subject, whatever the outcome
        if (lsn > maxResolutionLsn)
        {
            maxResolutionLsn = lsn;
        }

        if (lsn == resolvedThrough + 1)
        {
            advance = true;
        }

        _logger.RecordApplied(lsn, record.Operation, record.DtoType, record.EntityId, status, reason);
        return new ApplyResult
        {
            Lsn = record.Lsn,
            Status = status,
            RejectReason = reason,
            Before = SqliteJson.ParseOrNull(before),
            After = status is ApplyStatus.Rejected ? null : ApplyRules.AfterImage(record),
            Error = reason == RejectReason.None ? null
                : table is null ? CaseCollision(EnsureOpen(), record.DtoType)
                : ApplyRules.Describe(record, reason, exists ? storedLsn : null),
        };
    }

    // An audit event touches no entity: it is resolved as applied (the audit stage writes its entry) and its request's
    // outcome is stored, in the batch transaction like any record, so replay, the backfill and retries treat it uniformly.
    // With encryption at rest its key is assigned to its subject here too, or the boot's cleanup of unassigned keys would
    // take it and leave the event unreadable.
    private ApplyResult ResolveAuditEvent(WalRecord record, long resolvedThrough, ref long maxResolutionLsn, ref bool advance)
    {
        var lsn = record.Lsn.Value;
        _resolutions!.Insert(lsn, record.Id, record.RequestId, ApplyStatus.Applied, RejectReason.None, null);
        _requests!.Insert(record, ApplyStatus.Applied, RejectReason.None);
        _keys!.Assign(record, ApplyStatus.Applied); // a sealed event's key belongs to the subject it is about, as a write's does
        maxResolutionLsn = Math.Max(maxResolutionLsn, lsn);
        if (lsn == resolvedThrough + 1)
        {
            advance = true;
        }

        _logger.RecordApplied(lsn, record.Operation, record.DtoType, record.EntityId, ApplyStatus.Applied, RejectReason.None);
        return new ApplyResult { Lsn = record.Lsn, Status = ApplyStatus.Applied };
    }

    /// <summary>The payload as compact UTF-8 JSON in a buffer reused for every record (valid until the next call).</summary>
    private ReadOnlySpan<byte> SerializePayload(JsonElement payload)
    {
        _payloadBuffer.ResetWrittenCount();
        _payloadWriter.Reset(_payloadBuffer);
        payload.WriteTo(_payloadWriter);
        _payloadWriter.Flush();
        return _payloadBuffer.WrittenSpan;
    }

    private static ApplyResult FromResolution(WalRecord record, RecordResolution stored) => stored.Status == ApplyStatus.Rejected
        ? new ApplyResult
        {
            Lsn = record.Lsn,
            Status = ApplyStatus.Rejected,
            RejectReason = stored.RejectReason,
            Before = stored.Before,
            Error = ApplyRules.Describe(record, stored.RejectReason, storedLsn: null),
        }
        : new ApplyResult
        {
            Lsn = record.Lsn,
            Status = ApplyStatus.AlreadyApplied,
            Before = stored.Before,
            After = ApplyRules.AfterImage(record),
        };

    private ApplyResult[] Transient(IReadOnlyList<WalRecord> batch, string error, long started)
    {
        _metrics.BatchDone(Stopwatch.GetElapsedTime(started), committed: false);
        _metrics.Records(ApplyStatus.Transient, batch.Count);
        var results = new ApplyResult[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            results[i] = new ApplyResult { Lsn = batch[i].Lsn, Status = ApplyStatus.Transient, Error = error };
        }

        return results;
    }

    /// <summary>Throws the failure that stopped the store, if one did.</summary>
    private void ThrowIfStopped()
    {
        if (Volatile.Read(ref _fault) is { } fault) // read without the lock by request lookups
        {
            throw fault;
        }
    }

    /// <summary>Stops the store on a non-transient failure (first one wins) and returns the exception to throw.</summary>
    private DbWriterException Stop(DbWriterException failure)
    {
        if (failure.IsTransient)
        {
            return failure;
        }

        if (Interlocked.CompareExchange(ref _fault, failure, null) is null)
        {
            _logger.StoreStopped(failure, Path, failure.ErrorClass);
        }

        // A background checkpoint in flight finishes before this returns; none starts after it (SqliteWalCheckpointer).
        _checkpointer?.Exclusive(static () => 0);
        return _fault!;
    }

    private void Rollback(SqliteTransaction? transaction)
    {
        if (transaction is null)
        {
            return;
        }

        try
        {
            transaction.Rollback();
        }
        catch (Exception ex) when (ex is SqliteException or InvalidOperationException)
        {
            // SQLite rolls back by itself after some errors (SQLITE_FULL, SQLITE_IOERR); then there is nothing left to undo.
            _logger.RollbackFailed(ex);
        }
    }

    private void DisposeQuietly(SqliteTransaction? transaction)
    {
        try
        {
            transaction?.Dispose();
        }
        catch (Exception ex) when (ex is SqliteException or InvalidOperationException)
        {
            _logger.RollbackFailed(ex);
        }
    }
}
