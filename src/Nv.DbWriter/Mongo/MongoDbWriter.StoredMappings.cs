using MongoDB.Bson;
using MongoDB.Driver;

namespace Nv.DbWriter.Mongo;

// IDataKeyStore.MapStoredEntitiesAsync on MongoDB: a page of live entities at a time, reading only their id, slot and the
// mapped field; for those _nv_subjects does not map, the keys of their own subject are handed over first and the mapping
// written after, so a crash in between leaves the entity unmapped and the next start maps it (the hand-over then matches
// nothing). A completed pass is recorded in _nv_meta ({ _id: "entity_mapping:<dtoType>=<rule>" }) after its last page.
internal sealed partial class MongoDbWriter
{
    private const int MappingChunk = 1000;

    private IMongoCollection<BsonDocument> Meta => _meta!.WithWriteConcern(_writeConcern); // once the store is ready (inside QueryAsync)

    public async Task<IReadOnlyList<StoredEntityMapping>> MapStoredEntitiesAsync(IReadOnlyList<SubjectMappingRule> rules, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var passes = rules.ToDictionary(EntitySubjects.Pass, StringComparer.Ordinal);
        var recorded = await QueryAsync(() => Meta.Find(new BsonDocument("_id", new BsonDocument { { "$gte", EntitySubjects.PassPrefix }, { "$lt", EntitySubjects.PassEnd } }))
            .ToListAsync(cancellationToken), cancellationToken);
        var done = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pass in recorded.Select(static d => d["_id"].AsString))
        {
            if (passes.ContainsKey(pass))
            {
                done.Add(pass);
            }
            else
            {
                // A rule no longer set: entities written meanwhile may be unmapped again.
                await RunAsync("mapping of stored entities", () => Meta.DeleteOneAsync(MongoCommands.MetaId(pass), cancellationToken), cancellationToken);
            }
        }

        var results = new List<StoredEntityMapping>(rules.Count);
        foreach (var (pass, rule) in passes)
        {
            if (done.Contains(pass))
            {
                results.Add(new StoredEntityMapping { DtoType = rule.DtoType, Mapped = 0, Unnamed = 0, AlreadyDone = true });
                continue;
            }

            var result = await MapStoredEntitiesAsync(rule, cancellationToken);
            await RunAsync("mapping of stored entities", () => Meta.UpdateOneAsync(MongoCommands.MetaId(pass),
                new BsonDocument("$set", new BsonDocument("value", 1)), new UpdateOptions { IsUpsert = true }, cancellationToken), cancellationToken);
            results.Add(result);
        }

        return results;
    }

    private async Task<StoredEntityMapping> MapStoredEntitiesAsync(SubjectMappingRule rule, CancellationToken cancellationToken)
    {
        ThrowIfInvalidDtoType(rule.DtoType, nameof(rule));
        var projection = new BsonDocument { { "_id", 1 }, { MongoCommands.Nv, 1 }, { MongoCommands.Doc + "." + rule.Field, 1 } };
        long mapped = 0, unnamed = 0;
        string? after = null;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var filter = new BsonDocument(MongoCommands.NvDeleted, false);
            if (after is not null)
            {
                filter["_id"] = new BsonDocument("$gt", after);
            }

            var page = await QueryAsync(() => _database!.GetCollection<BsonDocument>(rule.DtoType).Find(filter).Project(projection).Sort(MongoCommands.SortById)
                .Limit(MappingChunk).ToListAsync(cancellationToken), cancellationToken);
            if (page.Count == 0)
            {
                break;
            }

            after = page[^1]["_id"].AsString;
            var keys = new BsonArray(page.Select(d => MongoKeys.EntityKey(rule.DtoType, d["_id"].AsString)["_id"]));
            var known = (await QueryAsync(() => Subjects.Find(new BsonDocument("_id", new BsonDocument("$in", keys))).ToListAsync(cancellationToken), cancellationToken))
                .Select(static d => d["_id"]["e"].AsString).ToHashSet(StringComparer.Ordinal);
            var handOvers = new List<WriteModel<BsonDocument>>();
            var mappings = new List<WriteModel<BsonDocument>>();
            foreach (var stored in page)
            {
                var id = stored["_id"].AsString;
                if (!stored.Contains(MongoCommands.Doc))
                {
                    stored[MongoCommands.Doc] = new BsonDocument(); // projected away: the field is missing (a live slot always has its document)
                }

                var slot = Slot.Read(stored);
                if (known.Contains(id) || slot.IsForeign || slot.Deleted || slot.Document is null)
                {
                    continue;
                }

                if (rule.SubjectOf(MongoJson.ToJson(slot.Document)) is not { } subject)
                {
                    unnamed++;
                    continue;
                }

                handOvers.Add(MongoKeys.HandOver(rule.DtoType, id, subject));
                mappings.Add(MongoKeys.MapSubject(rule.DtoType, id, subject));
            }

            if (mappings.Count > 0)
            {
                await RunAsync("mapping of stored entities", async () =>
                {
                    await Keys.BulkWriteAsync(handOvers, MongoCommands.Ordered, cancellationToken);
                    ThrowIfInjected("map-stored-entities");
                    await Subjects.BulkWriteAsync(mappings, MongoCommands.Ordered, cancellationToken);
                }, cancellationToken);
                mapped += mappings.Count;
            }
        }

        if (mapped > 0)
        {
            _logger.StoredEntitiesMapped(rule.DtoType, mapped);
        }

        return new StoredEntityMapping { DtoType = rule.DtoType, Mapped = mapped, Unnamed = unnamed, AlreadyDone = false };
    }
}
