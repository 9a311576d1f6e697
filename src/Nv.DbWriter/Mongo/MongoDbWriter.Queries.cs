using MongoDB.Bson;
using MongoDB.Driver;
using Nv.DbWriter.Sqlite;
using Nv.Wal;

namespace Nv.DbWriter.Mongo;

internal sealed partial class MongoDbWriter
{
    public async Task<StoredEntity?> GetAsync(string dtoType, string entityId, CancellationToken cancellationToken = default)
    {
        ThrowIfInvalidDtoType(dtoType, nameof(dtoType));
        ArgumentException.ThrowIfNullOrEmpty(entityId);
        return await ReadAsync("read", async () =>
        {
            var stored = await Find(_database!.GetCollection<BsonDocument>(dtoType), MongoCommands.ById(entityId))
                .FirstOrDefaultAsync(cancellationToken);
            if (stored is null)
            {
                return null;
            }

            // A document Nv did not write is not an Nv entity (and a write to its id is rejected): not found.
            var slot = Slot.Read(stored);
            if (slot.IsForeign)
            {
                _logger.ForeignDocumentRead(dtoType, entityId);
                return null;
            }

            if (slot.Deleted)
            {
                return null;
            }

            var nv = stored[MongoCommands.Nv].AsBsonDocument;
            return new StoredEntity
            {
                DtoType = dtoType,
                EntityId = entityId,
                Document = MongoJson.ToJson(slot.Document!),
                Lsn = new Lsn(slot.Lsn),
                ReplayKey = nv.GetValue("replayKey", BsonNull.Value) is BsonString key ? key.Value : string.Empty,
                WalId = Guid.ParseExact(slot.WalId, "D"),
            };
        }, cancellationToken);
    }

    public async Task<IReadOnlyList<RecordResolution>> GetResolutionsAsync(Lsn after, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(after.Value, nameof(after));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var upTo = after.Value > long.MaxValue - limit ? long.MaxValue : after.Value + limit;
        return await ReadAsync<IReadOnlyList<RecordResolution>>("read of resolutions", async () =>
        {
            var documents = await Find(_resolutions!, MongoCommands.ResolutionsBetween(after.Value, upTo))
                .Sort(MongoCommands.SortById).ToListAsync(cancellationToken);
            return [.. documents.Select(ReadResolution)];
        }, cancellationToken);
    }

    public async Task<RecordResolution?> FindByRequestIdAsync(string requestId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requestId);
        return (await FindByRequestIdsAsync([requestId], cancellationToken)).GetValueOrDefault(requestId);
    }

    public async Task<IReadOnlyDictionary<string, RecordResolution>> FindByRequestIdsAsync(IReadOnlyCollection<string> requestIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requestIds);
        var found = new Dictionary<string, RecordResolution>(StringComparer.Ordinal);
        if (requestIds.Count == 0)
        {
            return found;
        }

        return await ReadAsync<IReadOnlyDictionary<string, RecordResolution>>("read of resolutions", async () =>
        {
            var documents = await Find(_resolutions!, MongoCommands.ResolutionsOfRequests(requestIds))
                .Sort(MongoCommands.SortById).ToListAsync(cancellationToken);
            foreach (var document in documents)
            {
                var resolution = ReadResolution(document);
                found.TryAdd(resolution.RequestId, resolution);
            }

            return found;
        }, cancellationToken);
    }

    public async Task<Lsn> GetResolvedThroughAsync(CancellationToken cancellationToken = default) =>
        await LockedAsync("read of the watermark", () => Task.FromResult(new Lsn(_resolvedThrough)), cancellationToken);

    /// <remarks>Beyond the watermark: pending and unrecorded outcomes (<c>_maxResolutionLsn</c>, read from the store at
    /// initialization) and the erasures of <c>_nv_erasures</c> (one whose resolution is not stored yet holds its LSN: its
    /// keys may be destroyed already).</remarks>
    public async Task<Lsn> GetHighestLsnHeldAsync(CancellationToken cancellationToken = default) =>
        await LockedAsync("read of the highest LSN held", async () =>
        {
            var erasure = await Find(Erasures, FilterDefinition<BsonDocument>.Empty).Sort(new BsonDocument("_id", -1)).Limit(1)
                .Project(new BsonDocument("_id", 1)).FirstOrDefaultAsync(cancellationToken);
            return new Lsn(Math.Max(Math.Max(_resolvedThrough, _maxResolutionLsn), erasure?["_id"].ToInt64() ?? 0));
        }, cancellationToken);

    /// <remarks>Clamped to the resolved-through watermark, as in SQLite. Not one transaction: resolutions first, then each
    /// collection's tombstones; a failure part-way leaves only more to purge next time, never a wrong state.</remarks>
    public async Task PurgeAsync(Lsn upTo, CancellationToken cancellationToken = default) =>
        await LockedAsync("purge", async () =>
        {
            var effective = Math.Min(upTo.Value, _resolvedThrough);
            if (upTo.Value > _resolvedThrough)
            {
                _logger.PurgeClamped(upTo.Value, _resolvedThrough);
            }

            if (effective <= 0)
            {
                return 0;
            }

            var resolutions = await _resolutions!.DeleteManyAsync(
                new BsonDocument("_id", new BsonDocument("$lte", effective)), cancellationToken);
            long tombstones = 0;
            var names = await (await _database!.ListCollectionNamesAsync(cancellationToken: cancellationToken)).ToListAsync(cancellationToken);
            foreach (var name in names.Where(IsEntityCollection).Order(StringComparer.Ordinal))
            {
                // No index is created here: a collection this writer has not opened may not be an entity collection, and
                // the filter only matches Nv's own tombstones.
                var collection = _collections.GetValueOrDefault(name) ?? _database.GetCollection<BsonDocument>(name);
                tombstones += (await collection.DeleteManyAsync(MongoCommands.TombstonesUpTo(effective), cancellationToken)).DeletedCount;
            }

            if (resolutions.DeletedCount + tombstones > 0)
            {
                _logger.Purged(effective, (int)Math.Min(int.MaxValue, resolutions.DeletedCount), (int)Math.Min(int.MaxValue, tombstones));
            }
            return 0;
        }, cancellationToken);

    /// <summary>Whether a collection of the writer's database can hold entities: a valid dtoType that is not one of Nv's
    /// own names (Nv's own start with <c>_nv</c>; <c>audit_entries</c> is reserved in case the audit trail shares the database).</summary>
    internal static bool IsEntityCollection(string name) => SqliteIdentifiers.IsValidDtoType(name) && !DtoTypes.IsReserved(name);

    /// <summary>Runs a read: once the writer is ready, without the gate, so a batch in progress (or one retrying through an
    /// outage, each of its operations bounded by the timeout) does not hold readers up; before, under it, initializing
    /// first. A read touches no in-memory state but the collections, set once by the initialization.</summary>
    private async Task<T> ReadAsync<T>(string operation, Func<Task<T>> action, CancellationToken cancellationToken)
    {
        if (!Volatile.Read(ref _ready))
        {
            return await LockedAsync(operation, action, cancellationToken);
        }

        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            return await action();
        }
        catch (Exception ex) when (ex is MongoException or TimeoutException)
        {
            throw MongoErrors.Wrap(ex, operation);
        }
    }

    /// <summary>Runs a read or maintenance operation under the gate, after initialization, wrapping store errors. Waits for
    /// the gate (held by a batch, each of whose operations is bounded) at most twice the operation timeout.</summary>
    private async Task<T> LockedAsync<T>(string operation, Func<Task<T>> action, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!await _gate.WaitAsync(2 * _options.MongoOperationTimeout, cancellationToken))
        {
            throw new DbWriterException(
                $"MongoDB {operation} timed out waiting for the writer (a batch has held it for {2 * _options.MongoOperationTimeout.TotalSeconds:0.###} s).",
                isTransient: true);
        }

        try
        {
            await EnsureReadyAsync(cancellationToken);
            return await action();
        }
        catch (Exception ex) when (ex is MongoException or TimeoutException)
        {
            throw MongoErrors.Wrap(ex, operation);
        }
        finally
        {
            _gate.Release();
        }
    }
}
