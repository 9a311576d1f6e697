using MongoDB.Bson;
using MongoDB.Driver;
using Nv.Wal;

namespace Nv.DbWriter.Mongo;

internal sealed partial class MongoDbWriter
{
    // An erase record, without transactions: each step is idempotent and durable (j:true) before the next, and the
    // resolution is stored last, so a crash or a failure anywhere leaves the record unresolved and its replay finishes the
    // job: (1) the erasure is recorded with the keys and live entities it finds (first attempt's counts win), (2) the
    // before images kept under the subject's keys are forgotten and (3) the keys deleted, (4) the subject's live entities
    // get tombstones at this LSN (guarded: nothing written after the erasure is touched), (5) the subject mappings go,
    // (6) the request's outcome and (7) the resolution are stored.
    private async Task<ApplyResult> ApplyEraseAsync(WalRecord record, CancellationToken cancellationToken)
    {
        var lsn = record.Lsn.Value;
        if (lsn <= _maxResolutionLsn
            && await _resolutions!.Find(MongoCommands.ResolutionsOf([lsn])).FirstOrDefaultAsync(cancellationToken) is { } stored)
        {
            // Another record's outcome at this LSN (pending or not) means it was issued twice: "erased" would be a lie.
            ApplyRules.ThrowIfIssuedTwice(record, Guid.ParseExact(stored["walId"].AsString, "D"));
            if (!stored.Contains(MongoCommands.Pending))
            {
                return new ApplyResult { Lsn = record.Lsn, Status = ApplyStatus.AlreadyApplied };
            }
        }

        // An erasure an earlier attempt began at this LSN must be this record's too.
        if (await Find(Erasures, new BsonDocument("_id", lsn)).FirstOrDefaultAsync(cancellationToken) is { } begun
            && begun.GetValue("walId", BsonNull.Value) is BsonString begunBy)
        {
            ApplyRules.ThrowIfIssuedTwice(record, Guid.ParseExact(begunBy.Value, "D"));
        }

        if (lsn <= _resolvedThrough)
        {
            return new ApplyResult { Lsn = record.Lsn, Status = ApplyStatus.AlreadyApplied };
        }

        var subject = record.Subject!;
        var keyIds = (await Keys.Find(MongoKeys.KeysOfSubject(subject)).Project(new BsonDocument("_id", 1)).ToListAsync(cancellationToken))
            .Select(d => Guid.ParseExact(d["_id"].AsString, "D")).ToList();
        var entities = new List<(string DtoType, string EntityId)> { (record.DtoType, record.EntityId) };
        foreach (var mapping in await Subjects.Find(new BsonDocument("subject", subject)).ToListAsync(cancellationToken))
        {
            var id = mapping["_id"].AsBsonDocument;
            var entity = (id["t"].AsString, id["e"].AsString);
            if (!entities.Contains(entity))
            {
                entities.Add(entity);
            }
        }

        var existing = (await _database!.ListCollectionNamesAsync(cancellationToken: cancellationToken)).ToList(cancellationToken).ToHashSet(StringComparer.Ordinal);
        // What the guarded tombstones below delete: the subject's entities that are live and older than the erasure, counted
        // before anything changes so that the erasure's record says what it deleted (an id that names no live entity: 0).
        var live = new List<(string DtoType, string EntityId)>();
        foreach (var (dtoType, entityId) in entities.Where(e => existing.Contains(e.DtoType)))
        {
            var guard = MongoKeys.EraseEntity(record, entityId).Filter;
            if (await Find(_database!.GetCollection<BsonDocument>(dtoType), guard).FirstOrDefaultAsync(cancellationToken) is not null)
            {
                live.Add((dtoType, entityId));
            }
        }

        await Erasures.UpdateOneAsync(new BsonDocument("_id", lsn), new BsonDocument("$setOnInsert", MongoKeys.Erasure(record, keyIds.Count, live.Count)),
            new UpdateOptions { IsUpsert = true }, cancellationToken);
        if (keyIds.Count > 0)
        {
            await _resolutions!.UpdateManyAsync(MongoKeys.ResolutionsSealedBy(keyIds), MongoKeys.ForgetBefore, cancellationToken: cancellationToken);
            await ForgetBatchItemBeforesAsync(keyIds, cancellationToken);
            await Keys.DeleteManyAsync(MongoKeys.KeysOfSubject(subject), cancellationToken);
        }

        var deleted = 0;
        foreach (var (dtoType, entityId) in live)
        {
            var collection = await CollectionAsync(dtoType, cancellationToken);
            var result = await collection.UpdateOneAsync(MongoKeys.EraseEntity(record, entityId).Filter, MongoKeys.EraseEntity(record, entityId).Update,
                cancellationToken: cancellationToken);
            deleted += (int)result.ModifiedCount;
        }

        await Subjects.DeleteManyAsync(new BsonDocument("subject", subject), cancellationToken);

        // The request's outcome before the resolution: once the resolution is stored, a boot after a crash moves the
        // watermark past this record without replaying it.
        var applied = new ApplyResult { Lsn = record.Lsn, Status = ApplyStatus.Applied };
        await RecordRequestsAsync([record], [applied], cancellationToken);
        var resolution = MongoCommands.Resolution(record, ApplyStatus.Applied, RejectReason.None, before: null, pending: false);
        await _resolutions!.ReplaceOneAsync(new BsonDocument("_id", lsn), resolution, new ReplaceOptions { IsUpsert = true }, cancellationToken);
        ThrowIfInjected("erase-resolved");
        _maxResolutionLsn = Math.Max(_maxResolutionLsn, lsn);
        if (MayAdvanceAt(lsn))
        {
            _resolvedThrough = await AdvanceAsync(_resolvedThrough, cancellationToken);
        }

        _logger.SubjectErased(lsn, subject, keyIds.Count, deleted);
        return applied;
    }

    // Batch resolutions keep one before image per item; those of items sealed under the erased keys become null.
    private async Task ForgetBatchItemBeforesAsync(List<Guid> keyIds, CancellationToken cancellationToken)
    {
        var erased = keyIds.Select(MongoCommands.FormatId).ToHashSet(StringComparer.Ordinal);
        var filter = new BsonDocument("itemKeyIds", new BsonDocument("$in", new BsonArray(erased)));
        foreach (var resolution in await _resolutions!.Find(filter).ToListAsync(cancellationToken))
        {
            if (resolution.GetValue("items", BsonNull.Value) is not BsonArray items || resolution["itemKeyIds"] is not BsonArray ids)
            {
                continue;
            }

            var forgotten = MongoKeys.ForgetItems(items, ids, erased);
            await _resolutions!.UpdateOneAsync(new BsonDocument("_id", resolution["_id"]), new BsonDocument("$set", new BsonDocument("items", forgotten)),
                cancellationToken: cancellationToken);
        }
    }
}
