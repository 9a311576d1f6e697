using System.Diagnostics;
using MongoDB.Bson;
using MongoDB.Driver;
using Nv.Wal;

namespace Nv.DbWriter.Mongo;

internal sealed partial class MongoDbWriter
{
    /// <inheritdoc />
    public string? BatchesUnsupportedReason => _client is not null && _topology == MongoTopology.Standalone
        ? MongoBatchCommands.StandaloneRefusal(MongoConnection.Describe(_settings), _options.MongoDatabase)
        : null;

    // A chunk holding batch records: runs of single records go through the three-step path, each batch record through its
    // own transaction, in LSN order. A transient failure anywhere makes every result Transient, as the contract says; what
    // an earlier run or batch committed is found again by the retry (its stored resolution), never written twice.
    private async Task<IReadOnlyList<ApplyResult>> ApplyWithBatchesLockedAsync(IReadOnlyList<WalRecord> batch, Prepared[] prepared,
        CancellationToken cancellationToken)
    {
        var results = new List<ApplyResult>(batch.Count);
        var start = 0;
        while (start < batch.Count)
        {
            ApplyResult[] part;
            if (batch[start].Operation == WalOperation.Batch)
            {
                part = [await ApplyBatchRecordAsync(batch[start], prepared[start], cancellationToken)];
                start++;
            }
            else
            {
                var end = start;
                while (end < batch.Count && batch[end].Operation != WalOperation.Batch)
                {
                    end++;
                }

                part = await ApplyLockedAsync([.. batch.Skip(start).Take(end - start)], prepared[start..end], cancellationToken);
                start = end;
            }

            if (part[0].Status == ApplyStatus.Transient)
            {
                return [.. batch.Select(r => new ApplyResult { Lsn = r.Lsn, Status = ApplyStatus.Transient, Error = part[0].Error })];
            }

            results.AddRange(part);
        }

        return results;
    }

    // A batch record MongoDB cannot hold is rejected as unstorable (never retried), like a single record, and the writer
    // goes on: an item over MongoDB's limits (found by Prepare, nothing sent), a slot holding a document Nv did not write
    // (found in the transaction, nothing written), or a document the server refuses inside the transaction (a validator,
    // code 121, or any other refusal of the document itself: that transaction is aborted, so nothing of the batch stays).
    // The rejection and its request's outcome then commit in a transaction of their own.
    private async Task<ApplyResult> ApplyBatchRecordAsync(WalRecord record, Prepared prepared, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var lsn = record.Lsn.Value;
        if (_topology == MongoTopology.Standalone)
        {
            // A batch in the WAL that this server cannot apply atomically: stop rather than apply half of it.
            throw new DbWriterException(MongoBatchCommands.StandaloneRefusal(MongoConnection.Describe(_settings), _options.MongoDatabase)
                + $" The WAL holds batch LSN {lsn}.", isTransient: false);
        }

        var items = record.EntityChanges();
        var refusal = prepared.Unstorable is { } why ? new BatchRefusal(prepared.FailedItem, why) : null;
        ApplyResult result;
        try
        {
            await AssignKeysAsync(items, cancellationToken); // idempotent, before the outcome is final (see AssignKeysAsync)

            // Collections (and their indexes) are created before the transaction: index builds cannot run inside one.
            if (refusal is null)
            {
                foreach (var dtoType in items.Select(i => i.DtoType).Distinct(StringComparer.Ordinal))
                {
                    await CollectionAsync(dtoType, cancellationToken);
                }
            }

            bool outcomeRecorded;
            while (true)
            {
                try
                {
                    (result, outcomeRecorded) = await RunBatchTransactionAsync(record, items, prepared.ItemDocuments, refusal, cancellationToken);
                    break;
                }
                catch (BatchRefusedException refused) when (refusal is null)
                {
                    refusal = refused.Refusal; // its transaction was aborted: store the rejection in a new one
                }
            }

            _maxResolutionLsn = Math.Max(_maxResolutionLsn, lsn);
            if (MayAdvanceAt(lsn))
            {
                _resolvedThrough = await AdvanceAsync(_resolvedThrough, cancellationToken);
            }

            // A batch decided now has its request's outcome committed with it, in the transaction. One found already
            // resolved (a retry, a boot replay) records it here in case the commit that resolved it predates that (an
            // upsert that never replaces the first outcome). Without it a batch retried after a restart and a
            // resolution purge was applied a second time.
            if (!outcomeRecorded)
            {
                await RecordRequestsAsync([record], [result], cancellationToken);
            }
        }
        catch (Exception ex) when (MongoErrors.IsTransient(ex))
        {
            // UnknownTransactionCommitResult included: the retry finds the resolution if the commit did happen.
            _ready = false;
            _logger.BatchTransient(ex, 1, lsn, lsn, ex.Message);
            _metrics.BatchDone(Stopwatch.GetElapsedTime(started), committed: false);
            return new ApplyResult { Lsn = record.Lsn, Status = ApplyStatus.Transient, Error = ex.Message };
        }
        catch (Exception ex) when (ex is MongoException)
        {
            _ready = false;
            _logger.BatchFailed(ex, 1, lsn, lsn);
            throw MongoErrors.Wrap(ex, "batch apply");
        }

        _metrics.BatchDone(Stopwatch.GetElapsedTime(started), committed: true);
        _metrics.Records(result.Status, 1);
        return result;
    }

    private async Task<(ApplyResult Result, bool OutcomeRecorded)> RunBatchTransactionAsync(WalRecord record, IReadOnlyList<WalRecord> items,
        BsonDocument?[]? documents, BatchRefusal? refusal, CancellationToken cancellationToken)
    {
        // The database's own client (the one _client holds; a test's fake server brings its own sessions).
        using var session = await _database!.Client.StartSessionAsync(cancellationToken: cancellationToken);
        session.StartTransaction(MongoBatchCommands.Transaction(_writeConcern));
        try
        {
            var applied = await ApplyBatchInTransactionAsync(session, record, items, documents, refusal, cancellationToken);
            if (session.IsInTransaction)
            {
                await session.CommitTransactionAsync(cancellationToken);
            }

            return applied;
        }
        catch
        {
            if (session.IsInTransaction)
            {
                await session.AbortTransactionAsync(CancellationToken.None);
            }

            throw;
        }
    }

    // The result, and whether the request's outcome was written in the transaction (only for a batch decided now).
    private async Task<(ApplyResult Result, bool OutcomeRecorded)> ApplyBatchInTransactionAsync(IClientSessionHandle session, WalRecord record,
        IReadOnlyList<WalRecord> items, BsonDocument?[]? documents, BatchRefusal? refusal, CancellationToken cancellationToken)
    {
        var lsn = record.Lsn.Value;
        var resolutions = _database!.GetCollection<BsonDocument>(MongoCommands.ResolutionsCollection);
        if (await resolutions.Find(session, MongoCommands.ResolutionsOf([lsn])).FirstOrDefaultAsync(cancellationToken) is { } existing)
        {
            await session.AbortTransactionAsync(cancellationToken);
            var stored = ReadResolution(existing);
            ApplyRules.ThrowIfIssuedTwice(record, stored.WalId);
            return (ApplyRules.FromBatchResolution(record, stored), false);
        }

        if (lsn <= _resolvedThrough)
        {
            await session.AbortTransactionAsync(cancellationToken);
            return (ApplyRules.PurgedBatch(record), false);
        }

        // In a transaction, operations carry no write concern of their own: the commit's applies (the writer's w, j:true, wtimeout).
        var slots = new Slot?[items.Count];
        BatchDecision? decided = null;
        if (refusal is null)
        {
            for (var i = 0; i < items.Count; i++)
            {
                var stored = await _database.GetCollection<BsonDocument>(items[i].DtoType)
                    .Find(session, MongoCommands.ById(items[i].EntityId)).FirstOrDefaultAsync(cancellationToken);
                slots[i] = stored is null ? null : Slot.Read(stored);
            }

            decided = ApplyRules.DecideBatch(items, i => (slots[i] is not null, slots[i] is { Deleted: false }, slots[i]?.Lsn ?? 0));
            var foreign = Array.FindIndex(slots, static s => s is { IsForeign: true });
            if (foreign >= 0 && !(decided.Status == ApplyStatus.Rejected && decided.FailedItem < foreign))
            {
                // A document Nv did not write is neither overwritten nor deleted, nor does it count as an entity that exists.
                refusal = new BatchRefusal(foreign, string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"Batch item {foreign}: {ForeignSlot(items[foreign])} Nothing of the batch was written."));
            }
        }

        var decision = refusal is null
            ? decided!
            : new BatchDecision(ApplyStatus.Rejected, RejectReason.Unstorable, refusal.FailedItem, new ApplyStatus[items.Count], null);
        if (refusal is not null)
        {
            slots = new Slot?[items.Count]; // nothing read counts: the rejection keeps no before image
        }
        else if (decision.Status == ApplyStatus.Applied)
        {
            for (var i = 0; i < items.Count; i++)
            {
                if (decision.ItemStatuses[i] == ApplyStatus.Applied)
                {
                    await WriteBatchItemAsync(session, i, items[i], documents?[i], slots[i], cancellationToken);
                }
            }
        }

        var befores = slots.Select(s => s is { Deleted: false } ? s.Document : null).ToList();
        try
        {
            await resolutions.InsertOneAsync(session, MongoBatchCommands.Resolution(record, decision, befores), cancellationToken: cancellationToken);
        }
        catch (MongoWriteException ex) when (refusal is null && ex.WriteConcernError is null && ex.WriteError is { } error
            && MongoErrors.IsDocumentRejection(error.Code))
        {
            // The resolution keeps every item's before image: together they can exceed what one document holds.
            throw new BatchRefusedException(new BatchRefusal(null,
                $"The batch's outcome (with the before image of each of its {items.Count} items) cannot be stored in MongoDB: {error.Message} "
                + "Nothing of the batch was written."));
        }

        // The request's outcome commits with the batch: no crash can leave the one without the other.
        var outcome = MongoRequests.Record(record, decision.Status, decision.Reason, decision.FailedItem);
        _requestIds?.Add(record.RequestId); // before the transaction can commit: the filter never says "no" for a stored id
        await _database.GetCollection<BsonDocument>(MongoRequests.Collection).UpdateOneAsync(session, outcome.Filter, outcome.Update,
            new UpdateOptions { IsUpsert = true }, cancellationToken);
        if (refusal is not null)
        {
            _logger.RecordUnstorable(lsn, "(batch)", refusal.FailedItem is { } failed ? items[failed].EntityId : "", refusal.Message);
            return (new ApplyResult
            {
                Lsn = record.Lsn,
                Status = ApplyStatus.Rejected,
                RejectReason = RejectReason.Unstorable,
                FailedItem = refusal.FailedItem,
                Error = refusal.Message,
            }, true);
        }

        _logger.RecordApplied(lsn, record.Operation, "(batch)", record.RequestId, decision.Status, decision.Reason);
        if (decision.Status == ApplyStatus.Rejected)
        {
            return (new ApplyResult
            {
                Lsn = record.Lsn,
                Status = ApplyStatus.Rejected,
                RejectReason = decision.Reason,
                FailedItem = decision.FailedItem,
                Error = ApplyRules.DescribeBatch(items, decision.FailedItem!.Value, decision.Reason, decision.FailedStoredLsn),
            }, true);
        }

        return (ApplyRules.BatchResult(record, decision.Status, items, decision.ItemStatuses, [.. befores.Select(MongoJson.ToJsonOrNull)]), true);
    }

    // One item's guarded upsert (and the subject mapping it brings) inside the batch's transaction. A document the server
    // refuses for what it is aborts the transaction and rejects the batch (BatchRefusedException).
    private async Task WriteBatchItemAsync(IClientSessionHandle session, int index, WalRecord item, BsonDocument? document, Slot? slot,
        CancellationToken cancellationToken)
    {
        var write = MongoCommands.EntityWrite(item, document, expectedWalId: slot?.WalId);
        try
        {
            await _database!.GetCollection<BsonDocument>(item.DtoType).UpdateOneAsync(session, write.Filter, write.Update,
                new UpdateOptions { IsUpsert = true }, cancellationToken);
        }
        catch (MongoWriteException ex) when (ex.WriteConcernError is null && ex.WriteError is { } error
            && MongoErrors.IsDocumentRejection(error.Code))
        {
            throw new BatchRefusedException(new BatchRefusal(index,
                BatchItemUnstorable(index, item.DtoType, item.EntityId, $"MongoDB refused the document: {error.Message}")));
        }

        if (MongoKeys.MappingOf(item) is { } mapping)
        {
            // Only an applied batch changes which subject its entities belong to, and with them (one transaction).
            await Subjects.BulkWriteAsync(session, [mapping], MongoCommands.Ordered, cancellationToken);
            if (MongoKeys.HandOverOf(item) is { } handOver)
            {
                await Keys.BulkWriteAsync(session, [handOver], MongoCommands.Ordered, cancellationToken);
            }
        }
    }

    /// <summary>Why a batch record is rejected as unstorable: the item (none when the batch's outcome itself cannot be
    /// stored) and the message.</summary>
    private sealed record BatchRefusal(int? FailedItem, string Message);

    /// <summary>Thrown inside a batch's transaction when the server refused a document for what it is: the transaction is
    /// aborted and the batch's rejection stored in a new one.</summary>
    private sealed class BatchRefusedException(BatchRefusal refusal) : Exception(refusal.Message)
    {
        public BatchRefusal Refusal { get; } = refusal;
    }
}
