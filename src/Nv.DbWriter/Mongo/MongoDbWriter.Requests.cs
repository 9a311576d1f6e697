using MongoDB.Bson;
using MongoDB.Driver;
using Nv.Wal;

namespace Nv.DbWriter.Mongo;

internal sealed partial class MongoDbWriter
{
    /// <summary>The TTL index of the idempotency collection (its expiry follows the configured retention), and the one-time
    /// copy of resolutions stored before request ids were scoped. Runs in <see cref="EnsureReadyAsync"/>.</summary>
    private async Task EnsureRequestsAsync(CancellationToken cancellationToken)
    {
        var requests = _database!.GetCollection<BsonDocument>(MongoRequests.Collection).WithWriteConcern(_writeConcern);
        try
        {
            await requests.Indexes.CreateOneAsync(MongoRequests.TtlIndex(_options.IdempotencyRetention), cancellationToken: cancellationToken);
        }
        catch (MongoCommandException ex) when (ex.Code == 85) // IndexOptionsConflict: the retention changed since
        {
            await _database!.RunCommandAsync<BsonDocument>(MongoRequests.CollMod(_options.IdempotencyRetention), cancellationToken: cancellationToken);
        }

        if (await Find(_meta!, MongoCommands.MetaId(MongoRequests.MigratedId)).AnyAsync(cancellationToken))
        {
            return;
        }

        await _resolutions!.AggregateToCollectionAsync(
            PipelineDefinition<BsonDocument, BsonDocument>.Create(MongoRequests.LegacyMigration(DateTimeOffset.UtcNow)), cancellationToken: cancellationToken);
        await _meta!.UpdateOneAsync(MongoCommands.MetaId(MongoRequests.MigratedId), new BsonDocument("$set", new BsonDocument("value", 1)),
            new UpdateOptions { IsUpsert = true }, cancellationToken);
    }

    /// <summary>Records the outcome of every record's request (first record wins). Called before the resolutions it
    /// covers become visible to the watermark: a failure makes the batch transient, and its retry, or the boot replay,
    /// records them again (idempotent).</summary>
    private async Task RecordRequestsAsync(IReadOnlyList<WalRecord> batch, ApplyResult[] results, CancellationToken cancellationToken)
    {
        var models = new List<WriteModel<BsonDocument>>(batch.Count);
        for (var i = 0; i < batch.Count; i++)
        {
            if (results[i].Status is ApplyStatus.Applied or ApplyStatus.AlreadyApplied or ApplyStatus.Rejected)
            {
                _requestIds?.Add(batch[i].RequestId); // before the write is sent: the filter never says "no" for a stored id
                models.Add(MongoRequests.Record(batch[i], results[i].Status, results[i].RejectReason, results[i].FailedItem));
            }
        }

        if (models.Count > 0)
        {
            await _database!.GetCollection<BsonDocument>(MongoRequests.Collection).WithWriteConcern(_writeConcern)
                .BulkWriteAsync(models, new BulkWriteOptions { IsOrdered = false }, cancellationToken);
        }
    }

    /// <remarks>Not under the gate, so the commit stage never waits behind a batch the applier holds it for: it reads only
    /// <c>_nv_requests</c> (concurrent reads are the server's business), once the writer was initialized. Ids the filter
    /// proves new (nearly all) are not read at all: with every id of the call new, nothing is sent.</remarks>
    public async Task<IReadOnlyDictionary<RequestKey, RequestOutcome>> FindRequestsAsync(IReadOnlyCollection<RequestKey> keys,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        cancellationToken.ThrowIfCancellationRequested();
        var found = new Dictionary<RequestKey, RequestOutcome>();
        var wanted = keys.Where(MightHoldRequest).ToList();
        if (wanted.Count == 0)
        {
            return found;
        }

        const string operation = "read of request outcomes";
        var database = Volatile.Read(ref _database) ?? await LockedAsync(operation, () => Task.FromResult(_database!), cancellationToken);
        ObjectDisposedException.ThrowIf(_disposed, this);
        List<BsonDocument> documents;
        try
        {
            documents = await Find(database.GetCollection<BsonDocument>(MongoRequests.Collection), MongoRequests.Lookup(wanted))
                .ToListAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is MongoException or TimeoutException)
        {
            throw MongoErrors.Wrap(ex, operation);
        }

        var legacy = new Dictionary<string, RequestOutcome>(StringComparer.Ordinal);
        foreach (var outcome in documents.Select(MongoRequests.Read))
        {
            if (outcome.Scope is null)
            {
                legacy[outcome.RequestId] = outcome;
            }
            else
            {
                found[new RequestKey(outcome.Scope, outcome.RequestId)] = outcome;
            }
        }

        foreach (var key in wanted)
        {
            if (!found.ContainsKey(key) && legacy.TryGetValue(key.RequestId, out var unscoped))
            {
                found[key] = unscoped;
            }
        }

        return found;
    }

    /// <remarks>False once the filter's first build finished and it has never seen the request id.</remarks>
    public bool MightHoldRequest(RequestKey key) => _requestIds is not { } filter || filter.MightHave(key.RequestId);

    /// <summary>The request-id filter, once the writer was initialized (tests).</summary>
    internal MongoRequestIdFilter? RequestIdFilter => _requestIds;

    public async Task<long> PurgeRequestsAsync(DateTimeOffset createdBefore, CancellationToken cancellationToken = default) =>
        await LockedAsync("purge of request outcomes", async () =>
        {
            var deleted = (await _database!.GetCollection<BsonDocument>(MongoRequests.Collection).WithWriteConcern(_writeConcern)
                .DeleteManyAsync(MongoRequests.CreatedBefore(createdBefore), cancellationToken)).DeletedCount;
            if (deleted > 0)
            {
                _logger.RequestsPurged(deleted, createdBefore);
            }

            return deleted;
        }, cancellationToken);
}
