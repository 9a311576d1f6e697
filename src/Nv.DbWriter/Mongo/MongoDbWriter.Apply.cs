using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MongoDB.Bson;
using MongoDB.Driver;
using Nv.Wal;

namespace Nv.DbWriter.Mongo;

internal sealed partial class MongoDbWriter
{
    public async Task<IReadOnlyList<ApplyResult>> ApplyAsync(IReadOnlyList<WalRecord> batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        cancellationToken.ThrowIfCancellationRequested();
        if (batch.Count == 0)
        {
            return [];
        }

        // Everything is checked and converted before anything is sent. A record the store cannot hold is marked (and
        // will be rejected), never thrown: one record must not stop the writer.
        var prepared = Prepare(batch);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            _requestIds?.StartBuildIfDue(_requestIds.StoredIdsBound); // between batches: see RequestIdFilter
            NoteHoles(batch);
            if (batch.Any(static r => r.Operation == WalOperation.Erase))
            {
                await EnsureReadyAsync(cancellationToken);
                return await ApplyWithErasuresAsync(batch, prepared, cancellationToken);
            }

            return await ApplySegmentAsync(batch, prepared, cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    // Erase records split the batch: the records before one are applied first (so their keys are assigned before the
    // erasure destroys them), then the erasure, then the rest. A transient failure anywhere makes the whole batch
    // transient; its retry finds what was done (stored outcomes, idempotent erasure steps) and completes it.
    private async Task<IReadOnlyList<ApplyResult>> ApplyWithErasuresAsync(IReadOnlyList<WalRecord> batch, Prepared[] prepared,
        CancellationToken cancellationToken)
    {
        var results = new List<ApplyResult>(batch.Count);
        var start = 0;
        for (var i = 0; i <= batch.Count; i++)
        {
            if (i < batch.Count && batch[i].Operation != WalOperation.Erase)
            {
                continue;
            }

            if (i > start)
            {
                var part = await ApplySegmentAsync(batch.Skip(start).Take(i - start).ToList(), prepared[start..i], cancellationToken);
                if (part.Count > 0 && part[0].Status == ApplyStatus.Transient)
                {
                    return Transient(batch, part[0].Error);
                }

                results.AddRange(part);
            }

            if (i < batch.Count)
            {
                try
                {
                    results.Add(await ApplyEraseAsync(batch[i], cancellationToken));
                }
                catch (Exception ex) when (MongoErrors.IsTransient(ex))
                {
                    _ready = false;
                    _logger.BatchTransient(ex, batch.Count, batch[0].Lsn.Value, batch[^1].Lsn.Value, ex.Message);
                    return Transient(batch, ex.Message);
                }
                catch (Exception ex) when (ex is MongoException)
                {
                    _ready = false;
                    throw MongoErrors.Wrap(ex, "erasure");
                }
            }

            start = i + 1;
        }

        return results;
    }

    private async Task<IReadOnlyList<ApplyResult>> ApplySegmentAsync(IReadOnlyList<WalRecord> batch, Prepared[] prepared, CancellationToken cancellationToken)
    {
        if (batch.Any(static r => r.Operation == WalOperation.Batch))
        {
            await EnsureReadyAsync(cancellationToken);
            return await ApplyWithBatchesLockedAsync(batch, prepared, cancellationToken);
        }

        return await ApplyLockedAsync(batch, prepared, cancellationToken);
    }

    private static ApplyResult[] Transient(IReadOnlyList<WalRecord> batch, string? error) =>
        [.. batch.Select(r => new ApplyResult { Lsn = r.Lsn, Status = ApplyStatus.Transient, Error = error })];

    /// <summary>Checks every record and converts each payload to BSON. Contract violations (no LSN, no ids, unknown
    /// operation: nothing the WAL can hold) throw; what MongoDB cannot store is marked <see cref="Prepared.Unstorable"/>.</summary>
    private static Prepared[] Prepare(IReadOnlyList<WalRecord> batch)
    {
        var prepared = new Prepared[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            var record = batch[i] ?? throw new ArgumentException($"Batch item {i} is null.", nameof(batch));
            if (record.Lsn.Value <= 0)
            {
                throw new ArgumentException($"Batch item {i} has no LSN (it was never appended to the WAL).", nameof(batch));
            }

            if (record.Operation == WalOperation.Batch)
            {
                // A batch record is validated here and applied in its own transaction (MongoDbWriter.Batch.cs). Its items are
                // held to MongoDB's limits as single records are (checked before the WAL too, CheckStorable, but a record
                // written under other limits or by another writer can get here): the first item MongoDB cannot hold
                // rejects the batch as unstorable, never the writer.
                ApplyRules.ValidateBatch(record, nameof(batch));
                prepared[i] = PrepareBatch(record);
                continue;
            }

            if (string.IsNullOrEmpty(record.EntityId) || record.ReplayKey is null || record.RequestId is null || record.DtoType is null)
            {
                throw new ArgumentException($"Record at LSN {record.Lsn} lacks a dtoType, entity id, replay key or request id.", nameof(batch));
            }

            if (record.Operation is not (WalOperation.Create or WalOperation.Update or WalOperation.Delete or WalOperation.AuditEvent or WalOperation.Erase))
            {
                throw new ArgumentException($"Record at LSN {record.Lsn} has an unknown operation {record.Operation}.", nameof(batch));
            }

            if (record.Operation == WalOperation.AuditEvent)
            {
                prepared[i] = new Prepared(null, null); // no entity: only the request's outcome is recorded
                continue;
            }


            if (record.Operation == WalOperation.Erase)
            {
                if (string.IsNullOrEmpty(record.Subject))
                {
                    throw new ArgumentException($"Erase record at LSN {record.Lsn} names no subject.", nameof(batch));
                }

                prepared[i] = new Prepared(null, null);
                continue;
            }

            if (record.PayloadUnavailable)
            {
                throw new DbWriterException(
                    $"WAL record {record.Lsn} is sealed under data key {record.PayloadKeyId}, which is not available (destroyed by an erasure, or no master key); it cannot be applied.",
                    DbErrorClass.Internal);
            }

            BsonDocument? document = null;
            var refusal = record.Operation == WalOperation.Delete
                ? MongoLimits.CheckDtoType(record.DtoType)
                : MongoLimits.Check(record.DtoType, record.EntityId, record.ReplayKey, record.Payload, out document);
            prepared[i] = refusal is null
                ? new Prepared(document, null)
                : new Prepared(null, $"{record.DtoType} '{record.EntityId}' cannot be stored in MongoDB: {refusal.Reason}");
        }

        return prepared;
    }

    private static Prepared PrepareBatch(WalRecord record)
    {
        var items = record.Items!;
        var documents = new BsonDocument?[items.Count];
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            var refusal = item.Operation == WalOperation.Delete
                ? MongoLimits.CheckDtoType(item.DtoType)
                : MongoLimits.Check(item.DtoType, item.EntityId, item.ReplayKey, item.Payload, out documents[i]);
            if (refusal is not null)
            {
                return new Prepared(null, BatchItemUnstorable(i, item.DtoType, item.EntityId, refusal.Reason), FailedItem: i);
            }
        }

        return new Prepared(null, null, documents);
    }

    private static string BatchItemUnstorable(int index, string dtoType, string entityId, string why) =>
        string.Create(CultureInfo.InvariantCulture,
            $"Batch item {index}: {dtoType} '{entityId}' cannot be stored in MongoDB: {why} Nothing of the batch was written.");

    private async Task<ApplyResult[]> ApplyLockedAsync(IReadOnlyList<WalRecord> batch, Prepared[] prepared, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var first = batch[0].Lsn.Value;
        var last = batch[^1].Lsn.Value;
        Plan? plan = null;
        for (var round = 0; ; round++)
        {
            try
            {
                await EnsureReadyAsync(cancellationToken);
                await AssignKeysAsync(batch, cancellationToken); // before any outcome is final: see AssignKeysAsync
                plan = await DecideAsync(batch, prepared, cancellationToken);

                // Step 1: outcomes (Applied ones pending) are durable before any entity changes. Pending outcomes whose
                // decision no longer holds (see DecideAsync) are dropped first: their records are decided again.
                if (plan.Stale.Count > 0)
                {
                    await _resolutions!.DeleteManyAsync(MongoCommands.ResolutionsOf(plan.Stale), cancellationToken);
                }

                if (plan.NewResolutions.Count > 0)
                {
                    await InsertResolutionsAsync(plan, cancellationToken);
                }

                // Step 2: the entity writes: redos of stored outcomes first (they precede the new ones in LSN order).
                ThrowIfInjected("entity-writes");
                foreach (var redo in plan.Redos)
                {
                    await RedoAsync(redo, cancellationToken);
                }

                foreach (var (dtoType, writes) in plan.Writes)
                {
                    await WriteEntitiesAsync(await CollectionAsync(dtoType, cancellationToken), writes, cancellationToken);
                }

                await MapSubjectsAsync(batch, plan.Results, cancellationToken);

                // The requests' outcomes, once the writes are durable and before any of these resolutions is visible: a boot
                // moves the watermark over visible resolutions without replaying their records, and until the flags are
                // cleared a crash leaves these records to the boot replay, which records them then.
                ThrowIfInjected("record-requests");
                await RecordRequestsAsync(batch, plan.Results, cancellationToken);

                // Step 3: the outcomes become visible (pending and unrecorded flags cleared), then the watermark moves.
                ThrowIfInjected("clear-pending");
                if (plan.Completed.Count + plan.Unrecorded.Count > 0)
                {
                    await _resolutions!.BulkWriteAsync(MongoCommands.ClearPendingOf(plan.Completed.Concat(plan.Unrecorded)), MongoCommands.Ordered,
                        cancellationToken);
                }

                _maxResolutionLsn = Math.Max(_maxResolutionLsn, plan.MaxResolvedLsn);
                if (plan.TouchesWatermark)
                {
                    _resolvedThrough = await AdvanceAsync(_resolvedThrough, cancellationToken);
                }

                break;
            }
            catch (RedecideException ex) when (round < (2 * batch.Count) + 2)
            {
                // A record was rejected (stored final) or a stored outcome dropped: decide the batch again from the store.
                _logger.BatchRedecided(ex.Lsn, ex.Message);
                _ready = false;
            }
            catch (Exception ex) when (MongoErrors.IsTransient(ex))
            {
                _ready = false;
                if (plan is not null)
                {
                    _unreported.UnionWith(plan.Completed);
                    _unreported.UnionWith(plan.Unrecorded);
                }

                _logger.BatchTransient(ex, batch.Count, first, last, ex.Message);
                _metrics.BatchDone(Stopwatch.GetElapsedTime(started), committed: false);
                _metrics.Records(ApplyStatus.Transient, batch.Count);
                return [.. batch.Select(r => new ApplyResult { Lsn = r.Lsn, Status = ApplyStatus.Transient, Error = ex.Message })];
            }
            catch (Exception ex) when (ex is MongoException or DbWriterException or BsonException or RedecideException)
            {
                _ready = false;
                _logger.BatchFailed(ex, batch.Count, first, last);
                throw ex as DbWriterException ?? MongoErrors.Wrap(ex, "batch apply");
            }
        }

        foreach (var record in batch)
        {
            _unreported.Remove(record.Lsn.Value);
        }

        var results = plan.Results;
        int applied = 0, alreadyApplied = 0, rejected = 0;
        foreach (var result in results)
        {
            switch (result.Status)
            {
                case ApplyStatus.Applied: applied++; break;
                case ApplyStatus.AlreadyApplied: alreadyApplied++; break;
                default: rejected++; break;
            }
        }

        _metrics.BatchDone(Stopwatch.GetElapsedTime(started), committed: true);
        _metrics.Records(ApplyStatus.Applied, applied);
        _metrics.Records(ApplyStatus.AlreadyApplied, alreadyApplied);
        _metrics.Records(ApplyStatus.Rejected, rejected);
        _logger.BatchCommitted(batch.Count, first, last, applied, alreadyApplied, rejected, _resolvedThrough);
        return results;
    }

    /// <summary>Inserts the batch's new outcomes in LSN order. A resolution the server refuses for the document itself
    /// (its before image too large, say) rejects its record, and the batch is decided again.</summary>
    private async Task InsertResolutionsAsync(Plan plan, CancellationToken cancellationToken)
    {
        try
        {
            await _resolutions!.InsertManyAsync(plan.NewResolutions, new InsertManyOptions { IsOrdered = true }, cancellationToken);
        }
        catch (MongoBulkWriteException<BsonDocument> ex) when (ex.WriteConcernError is null && ex.WriteErrors.Count == 1
            && MongoErrors.IsDocumentRejection(ex.WriteErrors[0].Code))
        {
            var record = plan.NewResolutionRecords[ex.WriteErrors[0].Index];
            await RejectAsync(record, $"its outcome could not be stored: {ex.WriteErrors[0].Message}", cancellationToken);
        }
    }

    /// <summary>Runs one collection's entity writes as ordered bulk writes. An E11000 at index i means the guard failed
    /// and the upsert tried to insert an existing <c>_id</c>: the slot is read, and the write counts as already applied
    /// only when the stored LSN is at or above the record's; the bulk then resumes after it. A write the server refuses
    /// for the document itself, or a slot taken by a document Nv did not write, rejects that record.</summary>
    private async Task WriteEntitiesAsync(IMongoCollection<BsonDocument> collection, List<PlannedWrite> writes,
        CancellationToken cancellationToken)
    {
        var start = 0;
        while (start < writes.Count)
        {
            var models = new List<WriteModel<BsonDocument>>(writes.Count - start);
            for (var i = start; i < writes.Count; i++)
            {
                models.Add(writes[i].Model);
            }

            try
            {
                await collection.BulkWriteAsync(models, MongoCommands.Ordered, cancellationToken);
                return;
            }
            catch (MongoBulkWriteException<BsonDocument> ex) when (ex.WriteConcernError is null && ex.WriteErrors.Count > 0
                && (MongoErrors.IsDuplicateKey(ex) || MongoErrors.IsDocumentRejection(ex.WriteErrors[0].Code)))
            {
                var failed = start + ex.WriteErrors[0].Index;
                var record = writes[failed].Record;
                if (MongoErrors.IsDuplicateKey(ex))
                {
                    await CheckAlreadyAppliedAsync(collection, record, ex, cancellationToken);
                    start = failed + 1;
                }
                else
                {
                    // Throws: the records after it may have been decided on the assumption it was written.
                    await RejectAsync(record, $"MongoDB refused the document: {ex.WriteErrors[0].Message}", cancellationToken);
                }
            }
        }
    }

    /// <summary>Redoes the entity write of an outcome stored by an attempt that failed, held to the version its decision
    /// read. If the slot never reached that version (an earlier record of the same entity was rejected since), the stored
    /// outcome no longer holds: it is dropped and the record decided again.</summary>
    private async Task RedoAsync(PlannedWrite redo, CancellationToken cancellationToken)
    {
        var collection = await CollectionAsync(redo.Record.DtoType, cancellationToken);
        UpdateResult result;
        try
        {
            result = await collection.UpdateOneAsync(redo.Model.Filter, redo.Model.Update, new UpdateOptions { IsUpsert = redo.Model.IsUpsert },
                cancellationToken);
        }
        catch (MongoWriteException ex) when (ex.WriteConcernError is null && ex.WriteError is { } error
            && (MongoErrors.IsDuplicateKey(ex) || MongoErrors.IsDocumentRejection(error.Code)))
        {
            if (MongoErrors.IsDuplicateKey(ex))
            {
                await CheckAlreadyAppliedAsync(collection, redo.Record, ex, cancellationToken);
            }
            else
            {
                await RejectAsync(redo.Record, $"MongoDB refused the document: {error.Message}", cancellationToken);
            }

            return;
        }

        if (result.IsAcknowledged && result.MatchedCount == 0 && result.UpsertedId is null)
        {
            var stored = await Find(collection, MongoCommands.ById(redo.Record.EntityId)).FirstOrDefaultAsync(cancellationToken);
            var slot = stored is null ? null : Slot.Read(stored);
            if (slot is { IsForeign: false } && slot.Lsn >= redo.Record.Lsn.Value)
            {
                return; // the write had happened
            }

            await DropUnrecordedAfterAsync(redo.Record.Lsn.Value, cancellationToken);
            await _resolutions!.DeleteOneAsync(
                new BsonDocument { { "_id", redo.Record.Lsn.Value }, { MongoCommands.Pending, new BsonDocument("$exists", true) } }, cancellationToken);
            throw new RedecideException(redo.Record.Lsn.Value,
                string.Create(CultureInfo.InvariantCulture, $"LSN {redo.Record.Lsn}: {redo.Record.DtoType} '{redo.Record.EntityId}' is not at the version its stored outcome expected; deciding it again"));
        }
    }

    /// <summary>After a guard failure (E11000): the write had happened if the stored LSN is at or above the record's; a
    /// slot taken by a document Nv did not write rejects the record; anything else is another writer in the database.</summary>
    private async Task CheckAlreadyAppliedAsync(IMongoCollection<BsonDocument> collection, WalRecord record, MongoException ex,
        CancellationToken cancellationToken)
    {
        var stored = await Find(collection, MongoCommands.ById(record.EntityId)).FirstOrDefaultAsync(cancellationToken);
        var slot = stored is null ? null : Slot.Read(stored);
        if (slot is { IsForeign: true })
        {
            await RejectAsync(record, ForeignSlot(record), cancellationToken);
        }

        if (slot is null || slot.Lsn < record.Lsn.Value)
        {
            throw new DbWriterException(string.Create(CultureInfo.InvariantCulture,
                $"{record.DtoType} '{record.EntityId}' changed under the writer (LSN {record.Lsn} expected the version it read, " +
                $"the store holds LSN {slot?.Lsn.ToString(CultureInfo.InvariantCulture) ?? "none"}): is another writer using database " +
                $"'{_options.MongoDatabase}'?"), isTransient: false, MongoErrors.DuplicateKey, ex);
        }

        _logger.DuplicateKeyAlreadyApplied(record.Lsn.Value, record.DtoType, record.EntityId, slot.Lsn);
    }

    /// <summary>Stores the final rejection of a record the store cannot hold, replacing its pending outcome, and has the
    /// batch decided again (the records after it may have been decided on the assumption it was written).</summary>
    /// <remarks>The rejection is stored unrecorded (invisible until its request's outcome is stored, see
    /// <see cref="Plan.AddResolution"/>), after <see cref="DropUnrecordedAfterAsync"/>.</remarks>
    private async Task RejectAsync(WalRecord record, string error, CancellationToken cancellationToken)
    {
        var message = string.Create(CultureInfo.InvariantCulture, $"{record.DtoType} '{record.EntityId}' cannot be stored in MongoDB: {error}");
        await DropUnrecordedAfterAsync(record.Lsn.Value, cancellationToken);
        await _resolutions!.ReplaceOneAsync(new BsonDocument("_id", record.Lsn.Value), MongoCommands.AsUnrecorded(MongoCommands.Unstorable(record, message)),
            new ReplaceOptions { IsUpsert = true }, cancellationToken);
        _logger.RecordUnstorable(record.Lsn.Value, record.DtoType, record.EntityId, message);
        throw new RedecideException(record.Lsn.Value, string.Create(CultureInfo.InvariantCulture, $"LSN {record.Lsn} rejected: {message}"));
    }

    /// <summary>Drops every unrecorded outcome after <paramref name="lsn"/>, whose write did not happen as decided: those
    /// outcomes may rest on the assumption that it did (a create after it refused as existing, say), and, never shown or
    /// recorded, they are decided again. Any of them, in this batch or left by a larger attempt before a restart: an
    /// attempt that recorded its requests' outcomes had written every record, so none of its records is refused later.
    /// Pending outcomes after it are held to the version they read (<see cref="RedoAsync"/>).</summary>
    private async Task DropUnrecordedAfterAsync(long lsn, CancellationToken cancellationToken) =>
        await _resolutions!.DeleteManyAsync(MongoCommands.UnrecordedAfter(lsn), cancellationToken);

    private static string ForeignSlot(WalRecord record) =>
        $"{record.DtoType} '{record.EntityId}' holds a document Nv did not write (no valid _nv field); Nv neither overwrites nor deletes it.";

    /// <summary>Tests only: fails the batch at <paramref name="step"/> with the error a lost connection gives.</summary>
    private void ThrowIfInjected(string step)
    {
        if (FailBefore?.Invoke(step) == true)
        {
            throw new TimeoutException($"Injected failure before {step}.");
        }
    }

    /// <summary>Walks the contiguous run of final resolutions after <paramref name="from"/>, passing the WAL's holes, and
    /// stores the new watermark.</summary>
    private async Task<long> AdvanceAsync(long from, CancellationToken cancellationToken)
    {
        var next = from;
        using (var cursor = await _resolutions!.FindAsync(
            MongoCommands.ResolutionsBetween(from, long.MaxValue),
            new FindOptions<BsonDocument>
            {
                Sort = MongoCommands.SortById,
                Projection = new BsonDocument("_id", 1),
                BatchSize = 1024,
                MaxTime = _options.MongoOperationTimeout,
            },
            cancellationToken))
        {
            var contiguous = true;
            while (contiguous && await cursor.MoveNextAsync(cancellationToken))
            {
                foreach (var document in cursor.Current)
                {
                    next = PastHoles(next);
                    var lsn = document["_id"].ToInt64();
                    if (lsn <= next)
                    {
                        continue; // inside a hole: an outcome the WAL no longer has a record for (an accepted loss)
                    }

                    if (lsn != next + 1)
                    {
                        contiguous = false;
                        break;
                    }

                    next++;
                }
            }

            if (contiguous)
            {
                next = PastHoles(next);
            }
        }

        DropHolesThrough(next);
        if (next != from)
        {
            await _meta!.UpdateOneAsync(MongoCommands.MetaId(MongoCommands.ResolvedThroughId), MongoCommands.AdvanceResolvedThrough(next),
                new UpdateOptions { IsUpsert = true }, cancellationToken);
        }

        return next;
    }

    /// <summary>One record made ready to send: its document (null for a delete), or why the store cannot hold it; for a
    /// batch record, each item's document (null for a delete), or the first item the store cannot hold and why.</summary>
    private readonly record struct Prepared(BsonDocument? Document, string? Unstorable, BsonDocument?[]? ItemDocuments = null,
        int? FailedItem = null);

    /// <summary>Thrown inside a batch when a record was rejected or a stored outcome dropped: the batch is decided again.</summary>
    private sealed class RedecideException(long lsn, string message) : Exception(message)
    {
        public long Lsn { get; } = lsn;
    }
}
