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

        // Everything is checked and converted before anything is sent: a bad batch writes nothing.
        var documents = Validate(batch);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await EnsureReadyAsync(cancellationToken);
            return await ApplyLockedAsync(batch, documents, cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Checks every record and converts each payload to BSON; payload keys MongoDB would interpret are refused.</summary>
    private static BsonDocument?[] Validate(IReadOnlyList<WalRecord> batch)
    {
        var documents = new BsonDocument?[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            var record = batch[i] ?? throw new ArgumentException($"Batch item {i} is null.", nameof(batch));
            if (record.Operation != WalOperation.AuditEvent) // an audit event names no collection
            {
                ThrowIfInvalidDtoType(record.DtoType, nameof(batch));
            }

            if (record.Lsn.Value <= 0)
            {
                throw new ArgumentException($"Batch item {i} has no LSN (it was never appended to the WAL).", nameof(batch));
            }

            if (string.IsNullOrEmpty(record.EntityId) || record.ReplayKey is null || record.RequestId is null)
            {
                throw new ArgumentException($"Record at LSN {record.Lsn} lacks an entity id, replay key or request id.", nameof(batch));
            }

            if (record.Operation is not (WalOperation.Create or WalOperation.Update or WalOperation.Delete or WalOperation.AuditEvent))
            {
                throw new ArgumentException($"Record at LSN {record.Lsn} has an unknown operation {record.Operation}.", nameof(batch));
            }

            if (record.Operation is WalOperation.Delete or WalOperation.AuditEvent)
            {
                continue;
            }

            if (record.Payload.ValueKind != JsonValueKind.Object)
            {
                throw new ArgumentException(
                    $"Record at LSN {record.Lsn} ({record.Operation}) needs a JSON object payload, not {record.Payload.ValueKind}.", nameof(batch));
            }

            try
            {
                documents[i] = MongoJson.ToBson(record.Payload);
            }
            catch (ArgumentException ex)
            {
                throw new ArgumentException($"Record at LSN {record.Lsn}: {ex.Message}", nameof(batch), ex);
            }
        }

        return documents;
    }

    private async Task<ApplyResult[]> ApplyLockedAsync(IReadOnlyList<WalRecord> batch, BsonDocument?[] documents,
        CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var first = batch[0].Lsn.Value;
        var last = batch[^1].Lsn.Value;
        Plan plan;
        try
        {
            plan = await DecideAsync(batch, documents, cancellationToken);

            // Step 1: outcomes (Applied ones pending) are durable before any entity changes.
            if (plan.NewResolutions.Count > 0)
            {
                await _resolutions!.InsertManyAsync(plan.NewResolutions, new InsertManyOptions { IsOrdered = true }, cancellationToken);
            }

            // Step 2: the entity writes.
            ThrowIfInjected("entity-writes");
            foreach (var (dtoType, writes) in plan.Writes)
            {
                await WriteEntitiesAsync(await CollectionAsync(dtoType, cancellationToken), writes, cancellationToken);
            }

            // Step 3: the outcomes become visible, then the watermark moves.
            ThrowIfInjected("clear-pending");
            if (plan.Completed.Count > 0)
            {
                await _resolutions!.UpdateManyAsync(MongoCommands.ResolutionsOf(plan.Completed), MongoCommands.ClearPending,
                    cancellationToken: cancellationToken);
            }

            _maxResolutionLsn = Math.Max(_maxResolutionLsn, plan.MaxResolvedLsn);
            if (plan.TouchesWatermark)
            {
                _resolvedThrough = await AdvanceAsync(_resolvedThrough, cancellationToken);
            }

            await RecordRequestsAsync(batch, plan.Results, cancellationToken); // the requests' outcomes, once the writes are durable
        }
        catch (Exception ex) when (MongoErrors.IsTransient(ex))
        {
            _ready = false;
            _logger.BatchTransient(ex, batch.Count, first, last, ex.Message);
            _metrics.BatchDone(Stopwatch.GetElapsedTime(started), committed: false);
            _metrics.Records(ApplyStatus.Transient, batch.Count);
            return [.. batch.Select(r => new ApplyResult { Lsn = r.Lsn, Status = ApplyStatus.Transient, Error = ex.Message })];
        }
        catch (Exception ex) when (ex is MongoException or DbWriterException)
        {
            _ready = false;
            _logger.BatchFailed(ex, batch.Count, first, last);
            throw ex as DbWriterException ?? MongoErrors.Wrap(ex, "batch apply");
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

    /// <summary>Runs one collection's entity writes as ordered bulk writes. An E11000 at index i means the guard failed
    /// and the upsert tried to insert an existing <c>_id</c>: the slot is read, and the write counts as already applied
    /// only when the stored LSN is at or above the record's; the bulk then resumes after it.</summary>
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
            catch (MongoBulkWriteException<BsonDocument> ex) when (ex.WriteConcernError is null && MongoErrors.IsDuplicateKey(ex))
            {
                var failed = start + ex.WriteErrors[0].Index;
                var record = writes[failed].Record;
                var stored = await collection.Find(MongoCommands.ById(record.EntityId)).FirstOrDefaultAsync(cancellationToken);
                var storedLsn = StoredLsn(stored);
                if (storedLsn is not { } proven || proven < record.Lsn.Value)
                {
                    throw new DbWriterException(string.Create(CultureInfo.InvariantCulture,
                        $"{record.DtoType} '{record.EntityId}' changed under the writer (LSN {record.Lsn} expected the version it read, " +
                        $"the store holds LSN {storedLsn?.ToString(CultureInfo.InvariantCulture) ?? "none"}): is another writer using database " +
                        $"'{_options.MongoDatabase}'?"), isTransient: false, MongoErrors.DuplicateKey, ex);
                }

                _logger.DuplicateKeyAlreadyApplied(record.Lsn.Value, record.DtoType, record.EntityId, proven);
                start = failed + 1;
            }
        }
    }

    /// <summary>Tests only: fails the batch at <paramref name="step"/> with the error a lost connection gives.</summary>
    private void ThrowIfInjected(string step)
    {
        if (FailBefore?.Invoke(step) == true)
        {
            throw new TimeoutException($"Injected failure before {step}.");
        }
    }

    /// <summary>Walks the contiguous run of final resolutions after <paramref name="from"/> and stores the new watermark.</summary>
    private async Task<long> AdvanceAsync(long from, CancellationToken cancellationToken)
    {
        var next = from;
        using (var cursor = await _resolutions!.FindAsync(
            MongoCommands.ResolutionsBetween(from, long.MaxValue),
            new FindOptions<BsonDocument> { Sort = MongoCommands.SortById, Projection = new BsonDocument("_id", 1), BatchSize = 1024 },
            cancellationToken))
        {
            var contiguous = true;
            while (contiguous && await cursor.MoveNextAsync(cancellationToken))
            {
                foreach (var document in cursor.Current)
                {
                    if (document["_id"].ToInt64() != next + 1)
                    {
                        contiguous = false;
                        break;
                    }

                    next++;
                }
            }
        }

        if (next != from)
        {
            await _meta!.UpdateOneAsync(MongoCommands.MetaId(MongoCommands.ResolvedThroughId), MongoCommands.AdvanceResolvedThrough(next),
                new UpdateOptions { IsUpsert = true }, cancellationToken);
        }

        return next;
    }

    private static long? StoredLsn(BsonDocument? stored) =>
        stored is not null && stored.TryGetValue(MongoCommands.Nv, out var nv) && nv is BsonDocument guard && guard.TryGetValue("lsn", out var lsn)
            ? lsn.ToInt64()
            : null;
}
