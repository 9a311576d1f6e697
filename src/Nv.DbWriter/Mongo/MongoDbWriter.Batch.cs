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
                part = [await ApplyBatchRecordAsync(batch[start], cancellationToken)];
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

    private async Task<ApplyResult> ApplyBatchRecordAsync(WalRecord record, CancellationToken cancellationToken)
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
        var documents = new BsonDocument?[items.Count];
        for (var i = 0; i < items.Count; i++)
        {
            documents[i] = items[i].Operation == WalOperation.Delete ? null : MongoJson.ToBson(items[i].Payload);
        }

        ApplyResult result;
        try
        {
            await AssignKeysAsync(items, cancellationToken); // idempotent, before the outcome is final (see AssignKeysAsync)

            // Collections (and their indexes) are created before the transaction: index builds cannot run inside one.
            foreach (var dtoType in items.Select(i => i.DtoType).Distinct(StringComparer.Ordinal))
            {
                await CollectionAsync(dtoType, cancellationToken);
            }

            // The database's own client (the one _client holds; a test's fake server brings its own sessions).
            using var session = await _database!.Client.StartSessionAsync(cancellationToken: cancellationToken);
            session.StartTransaction(MongoBatchCommands.Transaction(_writeConcern));
            bool outcomeRecorded;
            try
            {
                (result, outcomeRecorded) = await ApplyBatchInTransactionAsync(session, record, items, documents, cancellationToken);
                if (session.IsInTransaction)
                {
                    await session.CommitTransactionAsync(cancellationToken);
                }
            }
            catch
            {
                if (session.IsInTransaction)
                {
                    await session.AbortTransactionAsync(CancellationToken.None);
                }

                throw;
            }

            _maxResolutionLsn = Math.Max(_maxResolutionLsn, lsn);
            if (lsn == _resolvedThrough + 1)
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

    // The result, and whether the request's outcome was written in the transaction (only for a batch decided now).
    private async Task<(ApplyResult Result, bool OutcomeRecorded)> ApplyBatchInTransactionAsync(IClientSessionHandle session, WalRecord record,
        IReadOnlyList<WalRecord> items, BsonDocument?[] documents, CancellationToken cancellationToken)
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
        for (var i = 0; i < items.Count; i++)
        {
            var stored = await _database.GetCollection<BsonDocument>(items[i].DtoType)
                .Find(session, MongoCommands.ById(items[i].EntityId)).FirstOrDefaultAsync(cancellationToken);
            slots[i] = stored is null ? null : Slot.Read(stored);
        }

        var decision = ApplyRules.DecideBatch(items, i => (slots[i] is not null, slots[i] is { Deleted: false }, slots[i]?.Lsn ?? 0));
        if (decision.Status == ApplyStatus.Applied)
        {
            for (var i = 0; i < items.Count; i++)
            {
                if (decision.ItemStatuses[i] != ApplyStatus.Applied)
                {
                    continue;
                }

                var write = MongoCommands.EntityWrite(items[i], documents[i], expectedWalId: slots[i]?.WalId);
                await _database.GetCollection<BsonDocument>(items[i].DtoType).UpdateOneAsync(session, write.Filter, write.Update,
                    new UpdateOptions { IsUpsert = true }, cancellationToken);
                if (MongoKeys.MappingOf(items[i]) is { } mapping)
                {
                    // Only an applied batch changes which subject its entities belong to, and with them (one transaction).
                    await Subjects.BulkWriteAsync(session, [mapping], MongoCommands.Ordered, cancellationToken);
                    if (MongoKeys.HandOverOf(items[i]) is { } handOver)
                    {
                        await Keys.BulkWriteAsync(session, [handOver], MongoCommands.Ordered, cancellationToken);
                    }
                }
            }
        }

        var befores = slots.Select(s => s is { Deleted: false } ? s.Document : null).ToList();
        await resolutions.InsertOneAsync(session, MongoBatchCommands.Resolution(record, decision, befores), cancellationToken: cancellationToken);

        // The request's outcome commits with the batch: no crash can leave the one without the other.
        var outcome = MongoRequests.Record(record, decision.Status, decision.Reason, decision.FailedItem);
        _requestIds?.Add(record.RequestId); // before the transaction can commit: the filter never says "no" for a stored id
        await _database.GetCollection<BsonDocument>(MongoRequests.Collection).UpdateOneAsync(session, outcome.Filter, outcome.Update,
            new UpdateOptions { IsUpsert = true }, cancellationToken);
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
}
