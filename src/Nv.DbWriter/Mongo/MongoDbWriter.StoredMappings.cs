using System.Text.Json;
using MongoDB.Bson;
using MongoDB.Driver;

namespace Nv.DbWriter.Mongo;

// IDataKeyStore.MapStoredEntitiesAsync on MongoDB: a page of live entities at a time; for those _nv_subjects does not map,
// the keys of their own subject are handed over first and the mapping written after, so a crash in between leaves the
// entity unmapped and the next run maps it (the hand-over then matches nothing).
internal sealed partial class MongoDbWriter
{
    private const int MappingChunk = 1000;

    public async Task<StoredEntityMapping> MapStoredEntitiesAsync(string dtoType, Func<JsonElement, string?> subjectOf, CancellationToken cancellationToken = default)
    {
        ThrowIfInvalidDtoType(dtoType, nameof(dtoType));
        ArgumentNullException.ThrowIfNull(subjectOf);
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

            var page = await QueryAsync(() => _database!.GetCollection<BsonDocument>(dtoType).Find(filter).Sort(MongoCommands.SortById)
                .Limit(MappingChunk).ToListAsync(cancellationToken), cancellationToken);
            if (page.Count == 0)
            {
                break;
            }

            after = page[^1]["_id"].AsString;
            var ids = page.Select(static d => d["_id"].AsString).ToList();
            var keys = new BsonArray(ids.Select(id => MongoKeys.EntityKey(dtoType, id)["_id"]));
            var known = (await QueryAsync(() => Subjects.Find(new BsonDocument("_id", new BsonDocument("$in", keys))).ToListAsync(cancellationToken), cancellationToken))
                .Select(static d => d["_id"]["e"].AsString).ToHashSet(StringComparer.Ordinal);
            var handOvers = new List<WriteModel<BsonDocument>>();
            var mappings = new List<WriteModel<BsonDocument>>();
            foreach (var stored in page)
            {
                var id = stored["_id"].AsString;
                var slot = Slot.Read(stored);
                if (known.Contains(id) || slot.IsForeign || slot.Deleted || slot.Document is null)
                {
                    continue;
                }

                if (subjectOf(MongoJson.ToJson(slot.Document)) is not { } subject)
                {
                    unnamed++;
                    continue;
                }

                handOvers.Add(MongoKeys.HandOver(dtoType, id, subject));
                mappings.Add(new ReplaceOneModel<BsonDocument>(MongoKeys.EntityKey(dtoType, id),
                    new BsonDocument { { "_id", MongoKeys.EntityKey(dtoType, id)["_id"] }, { "subject", subject } }) { IsUpsert = true });
            }

            if (mappings.Count > 0)
            {
                await RunAsync("mapping of stored entities", async () =>
                {
                    await Keys.BulkWriteAsync(handOvers, MongoCommands.Ordered, cancellationToken);
                    await Subjects.BulkWriteAsync(mappings, MongoCommands.Ordered, cancellationToken);
                }, cancellationToken);
                mapped += mappings.Count;
            }
        }

        if (mapped > 0)
        {
            _logger.StoredEntitiesMapped(dtoType, mapped);
        }

        return new StoredEntityMapping { Mapped = mapped, Unnamed = unnamed };
    }
}
