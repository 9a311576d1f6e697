using MongoDB.Bson;
using MongoDB.Driver;
using Nv.Wal;

namespace Nv.DbWriter.Mongo;

// The key store (IDataKeyStore) on MongoDB: collections _nv_keys, _nv_subjects and _nv_erasures (MongoKeys). Each write is
// acknowledged with the writer's write concern (j:true, majority on a replica set): durable when it returns.
internal sealed partial class MongoDbWriter
{
    private IMongoCollection<BsonDocument> Keys => _database!.GetCollection<BsonDocument>(MongoKeys.KeysCollection).WithWriteConcern(_writeConcern);

    private IMongoCollection<BsonDocument> Subjects => _database!.GetCollection<BsonDocument>(MongoKeys.SubjectsCollection).WithWriteConcern(_writeConcern);

    private IMongoCollection<BsonDocument> Erasures => _database!.GetCollection<BsonDocument>(MongoKeys.ErasuresCollection).WithWriteConcern(_writeConcern);

    public Task AddKeysAsync(IReadOnlyList<StoredDataKey> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        return keys.Count == 0
            ? Task.CompletedTask
            : RunAsync("key store insert", () => Keys.InsertManyAsync(keys.Select(MongoKeys.KeyDocument), new InsertManyOptions { IsOrdered = true }, cancellationToken),
                cancellationToken);
    }

    public async Task<IReadOnlyList<StoredDataKey>> FindKeysAsync(IReadOnlyCollection<Guid> keyIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keyIds);
        if (keyIds.Count == 0)
        {
            return [];
        }

        var documents = await QueryAsync(() => Keys.Find(MongoKeys.KeysByIds(keyIds)).ToListAsync(cancellationToken), cancellationToken);
        return [.. documents.Select(MongoKeys.ReadKey)];
    }

    public async Task<IReadOnlyList<StoredDataKey>> FindSubjectKeysAsync(IReadOnlyCollection<string> subjects, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(subjects);
        if (subjects.Count == 0)
        {
            return [];
        }

        var documents = await QueryAsync(() => Keys.Find(MongoKeys.KeysOfSubjects(subjects)).Sort(new BsonDocument("createdAt", -1)).ToListAsync(cancellationToken),
            cancellationToken);
        return [.. documents.Select(MongoKeys.ReadKey)];
    }

    public async Task<string?> FindEntitySubjectAsync(string dtoType, string entityId, CancellationToken cancellationToken = default)
    {
        var document = await QueryAsync(() => Subjects.Find(MongoKeys.EntityKey(dtoType, entityId)).FirstOrDefaultAsync(cancellationToken), cancellationToken);
        return document?["subject"].AsString;
    }

    public async Task<long> DeleteUnassignedKeysAsync(CancellationToken cancellationToken = default)
    {
        var result = await QueryAsync(() => Keys.DeleteManyAsync(MongoKeys.UnassignedKeys, cancellationToken), cancellationToken);
        if (result.DeletedCount > 0)
        {
            _logger.UnassignedKeysDeleted(result.DeletedCount);
        }

        return result.DeletedCount;
    }

    public async Task<DataKeyStatistics> GetKeyStatisticsAsync(CancellationToken cancellationToken = default)
    {
        return await QueryAsync(async () =>
        {
            var byMaster = new Dictionary<string, long>(StringComparer.Ordinal);
            long assigned = 0, pool = 0;
            var groups = await Keys.Aggregate()
                .Group(new BsonDocument
                {
                    { "_id", new BsonDocument { { "m", "$masterKeyId" }, { "pool", new BsonDocument("$eq", new BsonArray { "$subject", BsonNull.Value }) } } },
                    { "n", new BsonDocument("$sum", 1) },
                })
                .ToListAsync(cancellationToken);
            foreach (var group in groups)
            {
                var id = group["_id"].AsBsonDocument;
                var count = group["n"].ToInt64();
                byMaster[id["m"].AsString] = byMaster.GetValueOrDefault(id["m"].AsString) + count;
                if (id["pool"].ToBoolean())
                {
                    pool += count;
                }
                else
                {
                    assigned += count;
                }
            }

            var subjects = (await Keys.DistinctAsync<BsonValue>("subject", new BsonDocument("subject", new BsonDocument("$type", "string")),
                cancellationToken: cancellationToken)).ToList(cancellationToken).Count;
            var erasures = await Erasures.CountDocumentsAsync(FilterDefinition<BsonDocument>.Empty, cancellationToken: cancellationToken);
            return new DataKeyStatistics
            {
                AssignedKeys = assigned,
                PoolKeys = pool,
                Subjects = subjects,
                Erasures = erasures,
                KeysByMasterKey = byMaster,
            };
        }, cancellationToken);
    }

    public async Task<IReadOnlyList<SubjectErasure>> GetErasuresAsync(int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var documents = await QueryAsync(() => Erasures.Find(FilterDefinition<BsonDocument>.Empty).Sort(new BsonDocument("_id", -1)).Limit(limit)
            .ToListAsync(cancellationToken), cancellationToken);
        return [.. documents.Select(MongoKeys.ReadErasure)];
    }

    public async Task<SubjectErasure?> FindErasureAsync(Lsn lsn, CancellationToken cancellationToken = default)
    {
        var document = await QueryAsync(() => Find(Erasures, new BsonDocument("_id", lsn.Value)).FirstOrDefaultAsync(cancellationToken), cancellationToken);
        return document is null ? null : MongoKeys.ReadErasure(document);
    }

    public async Task<long> RewrapKeysAsync(string fromMasterKeyId, string toMasterKeyId, Func<StoredDataKey, byte[]> rewrap, Action<long>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(fromMasterKeyId);
        ArgumentException.ThrowIfNullOrEmpty(toMasterKeyId);
        ArgumentNullException.ThrowIfNull(rewrap);
        long done = 0;
        while (true)
        {
            var batch = await QueryAsync(() => Keys.Find(new BsonDocument("masterKeyId", fromMasterKeyId)).Limit(1000).ToListAsync(cancellationToken),
                cancellationToken);
            if (batch.Count == 0)
            {
                return done;
            }

            var models = batch.Select(MongoKeys.ReadKey).Select(k => (WriteModel<BsonDocument>)MongoKeys.Rewrap(k, fromMasterKeyId, toMasterKeyId, rewrap(k))).ToList();
            await RunAsync("master key rotation", () => Keys.BulkWriteAsync(models, new BulkWriteOptions { IsOrdered = false }, cancellationToken), cancellationToken);
            done += batch.Count;
            progress?.Invoke(done);
        }
    }

    /// <remarks>Always false: MongoDB keeps deleted and overwritten documents' bytes in its storage files until the space is
    /// reused, in its journal, and on a replica set in the oplog until it rolls over (and in any copy of them), and a client
    /// can scrub none of these. The erased entities' plain-text documents and before images may stay there; what was sealed
    /// (WAL payloads, audit entries) is unreadable because its keys are gone. See <see cref="UnscrubbedDetail"/>.</remarks>
    public Task<bool> ScrubAsync(CancellationToken cancellationToken = default) => Task.FromResult(false);

    public string UnscrubbedDetail =>
        "Erased: the subject's keys are destroyed, so its sealed data (WAL payloads, audit entries) is unreadable. MongoDB cannot be scrubbed from "
        + "a client: the erased entities' plain-text documents and before images may remain in its data files (until the space is reused), its "
        + "journal and, on a replica set, the oplog (until it rolls over), and in any backup of them. Bound that on the server: compact the "
        + "collections, size the oplog's retention, and encrypt the storage itself. A retry does not change it.";

    // Key assignments of a batch, before its outcomes are stored: idempotent, so a batch that fails and is retried (or
    // replayed after a crash) does them again harmlessly, and a record's outcome is never final before the key its
    // ciphertext names belongs to its subject (whatever that outcome: the ciphertext is in the WAL either way).
    private async Task AssignKeysAsync(IReadOnlyList<WalRecord> batch, CancellationToken cancellationToken)
    {
        var assignments = new List<WriteModel<BsonDocument>>();
        foreach (var record in batch)
        {
            if (record.PayloadKeyId is not null && record.Subject is not null && record.Operation != WalOperation.Erase)
            {
                assignments.Add(MongoKeys.Assign(record));
            }
        }

        if (assignments.Count > 0)
        {
            await Keys.BulkWriteAsync(assignments, MongoCommands.Ordered, cancellationToken);
        }
    }

    // Subject mappings of the records applied (only they change which subject their entity belongs to: a rejected create
    // of an existing entity, or a delete refused by its precondition, leaves the mapping as it was), after the entity
    // writes and before the outcomes become visible: a crash in between leaves the records pending, and their replay maps
    // them again (idempotent).
    private async Task MapSubjectsAsync(IReadOnlyList<WalRecord> batch, ApplyResult[] results, CancellationToken cancellationToken)
    {
        var mappings = new List<WriteModel<BsonDocument>>();
        var handOvers = new List<WriteModel<BsonDocument>>();
        for (var i = 0; i < batch.Count; i++)
        {
            if (results[i].Status == ApplyStatus.Applied && MongoKeys.MappingOf(batch[i]) is { } mapping)
            {
                mappings.Add(mapping);
                if (MongoKeys.HandOverOf(batch[i]) is { } handOver)
                {
                    handOvers.Add(handOver);
                }
            }
        }

        if (mappings.Count > 0)
        {
            await Subjects.BulkWriteAsync(mappings, MongoCommands.Ordered, cancellationToken);
        }

        if (handOvers.Count > 0)
        {
            await Keys.BulkWriteAsync(handOvers, MongoCommands.Ordered, cancellationToken);
        }
    }

    private async Task<T> QueryAsync<T>(Func<Task<T>> query, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await EnsureReadyAsync(cancellationToken);
            return await query();
        }
        catch (Exception ex) when (ex is MongoException or TimeoutException)
        {
            throw MongoErrors.Wrap(ex, "key store");
        }
        finally
        {
            _gate.Release();
        }
    }

    private Task<bool> RunAsync(string what, Func<Task> write, CancellationToken cancellationToken) => QueryAsync(async () =>
    {
        try
        {
            await write();
        }
        catch (Exception ex) when (ex is MongoException or TimeoutException)
        {
            throw MongoErrors.Wrap(ex, what);
        }

        return true;
    }, cancellationToken);

    private async Task EnsureKeyIndexesAsync(CancellationToken cancellationToken)
    {
        await Keys.Indexes.CreateOneAsync(new CreateIndexModel<BsonDocument>(new BsonDocument("subject", 1), new CreateIndexOptions { Name = "subject" }),
            cancellationToken: cancellationToken);
        await Subjects.Indexes.CreateOneAsync(new CreateIndexModel<BsonDocument>(new BsonDocument("subject", 1), new CreateIndexOptions { Name = "subject" }),
            cancellationToken: cancellationToken);
    }
}
