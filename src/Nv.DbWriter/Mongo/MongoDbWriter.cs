using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MongoDB.Bson;
using MongoDB.Driver;
using Nv.DbWriter.Sqlite;

namespace Nv.DbWriter.Mongo;

/// <summary>The production <see cref="IDbWriter"/>: one MongoDB collection per dtoType, <c>_id</c> = entityId, LSN-guarded
/// upserts in ordered bulk writes, and a resolution outbox (<c>_nv_resolutions</c>) that makes replay exact.</summary>
/// <remarks>
/// Atomicity without multi-document transactions (they need a replica set; this works on a standalone server too).
/// A batch is written in three durable steps, each with write concern <c>j:true</c> (plus <c>w:majority</c> on a
/// replica set or through a mongos) and a <c>wtimeout</c>:
/// <list type="number">
/// <item>Every outcome is decided against the stored slots (read first, from the primary) and inserted into
/// <c>_nv_resolutions</c>. Rejections, superseded records and audit events are final at once (inserted
/// <c>unrecorded</c>, invisible until step 3, see below). An Applied outcome is inserted
/// <c>pending</c>, with its exact before image and the version it read: from now on its outcome is fixed, but it is
/// invisible (GetResolutions, FindByRequestId and the resolved-through watermark skip it) because the entity is not yet
/// written.</item>
/// <item>The entity writes, one ordered bulk write per collection. Each is an upsert guarded by
/// <c>_nv.lsn &lt; record.lsn</c> (an older or equal LSN never overwrites) and pinned to the <c>_nv.walId</c> of the
/// version that was read, so the returned before image is exactly what the write replaced. A guard that fails turns the
/// upsert into an insert of an existing <c>_id</c> (E11000); that is "already applied" only when the stored LSN is at or
/// above the record's, otherwise another writer changed the slot and the batch fails (not transient).</item>
/// <item>The pending flags are cleared (one retryable single-document update each) and the watermark advanced
/// (<c>$max</c>, never backwards).</item>
/// </list>
/// Request outcomes (<c>_nv_requests</c>) are stored before the resolution they belong to becomes visible, because a boot
/// after a crash moves the watermark over every visible resolution without replaying its record: step 1 stores a final
/// outcome (a rejection, a superseded record, an audit event) <c>unrecorded</c>, as invisible as a pending one; every
/// request's outcome is stored between steps 2 and 3, and step 3 clears both flags (a crash before that leaves the records
/// to the boot replay, which keeps the stored outcomes and records them then). An unrecorded outcome decided after a
/// record whose write the server then refuses is dropped and decided again. A batch record's outcome commits in its
/// transaction; an erasure's is stored before its resolution.
/// Failure policy. A transient error (network, not primary, pool paused, timeouts, write-concern errors) at any step,
/// connecting included, makes every result <see cref="ApplyStatus.Transient"/>; the records stay in the WAL and are
/// applied again. What the failed attempt left is completed, never undone (roll-forward): a record found with a pending
/// resolution keeps that outcome and before image, and its entity write is redone, held to the version its decision
/// read (a no-op if it had happened). A record whose outcome this process stored as Applied in an attempt that failed
/// before returning is reported Applied by the retry, not AlreadyApplied. A crash between steps is the same case after
/// a restart: the boot replay re-applies from the WAL's applied watermark, which advances only after results are
/// returned. Unlike SQLite, a failure <em>during</em> step 2 can leave some of the batch's entity writes visible to
/// <see cref="GetAsync"/> until the retry completes the batch; their resolutions stay invisible and the watermark does
/// not move. A resolution's before image is therefore always exact.
/// One record never stops the writer: a record the store cannot hold (<see cref="MongoLimits"/>, an invalid or
/// reserved dtoType, a slot holding a document Nv did not write, or a write the server refuses for the document
/// itself) is rejected with <see cref="RejectReason.Unstorable"/>, stored as final (unrecorded until step 3), and the rest
/// of the batch is decided again without it. A batch record (<see cref="Nv.Wal.WalOperation.Batch"/>) that MongoDB cannot hold (an
/// item over the limits, a foreign slot, a document the server refuses inside its transaction) is rejected the same way,
/// naming the item (<see cref="ApplyResult.FailedItem"/>), with nothing of it written. A non-transient error of the store
/// throws <see cref="DbWriterException"/>.
/// Threading: every write and maintenance operation is serialized by one async gate; the contract allows one applier.
/// Reads of the server's collections (<see cref="GetAsync"/>, resolutions, the commit stage's request lookup
/// <see cref="FindRequestsAsync"/>) do not take it once the writer is initialized: the gate guards the writer's in-memory
/// state and its initialization, not the collections, so a batch in progress or retrying through an outage does not hold
/// readers up (a read may see a batch's entity write before the batch returns: its write is durable, and a failed batch
/// is completed, never undone). Before that, and for the watermark, a read waits for the gate at most twice the
/// operation timeout, then fails as transient. An in-memory filter of the stored request ids spares the request lookup
/// the read for new ids.
/// </remarks>
internal sealed partial class MongoDbWriter : IDbWriter, IDataKeyStore
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly DbWriterOptions _options;
    private readonly ILogger _logger;
    private readonly DbWriterMetrics _metrics;
    private readonly MongoClientSettings _settings;
    private readonly IMongoDatabase? _injectedDatabase;
    private readonly Dictionary<string, IMongoCollection<BsonDocument>> _collections = new(StringComparer.Ordinal);

    // LSNs this process decided Applied in an attempt that failed before returning; the retry reports them Applied.
    private readonly HashSet<long> _unreported = [];
    private MongoClient? _client;
    private IMongoDatabase? _database;
    private IMongoCollection<BsonDocument>? _resolutions;
    private IMongoCollection<BsonDocument>? _meta;
    private MongoRequestIdFilter? _requestIds; // request ids with an outcome, in memory; built once the store is ready
    private WriteConcern _writeConcern;
    private MongoTopology _topology;
    private bool _ready;
    private bool _disposed;

    // Committed state; reloaded from the store after any failed batch (an unacknowledged write may have landed).
    private long _resolvedThrough;
    private long _maxResolutionLsn;

    // LSNs the WAL never held (its sanctioned jumps), learned from the order of the records passed in (see
    // MongoDbWriter.Holes.cs); facts about the WAL, so kept across a reload, and dropped once the watermark passes them.
    private readonly List<(long After, long Next)> _holes = [];
    private long _highestPassed;

    /// <exception cref="ArgumentException">The connection string is malformed.</exception>
    public MongoDbWriter(DbWriterOptions options, ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null)
        : this(options, database: null, loggerFactory, meterFactory)
    {
    }

    /// <summary>Tests only: a writer over <paramref name="database"/> (a fake) instead of a client built from the
    /// connection string; everything else is the real code.</summary>
    internal MongoDbWriter(DbWriterOptions options, IMongoDatabase? database, ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _settings = MongoConnection.Settings(options.MongoUri, options.MongoConnectTimeout, options.MongoOperationTimeout,
            DbWriterOptions.SectionName + ":MongoUri");
        _injectedDatabase = database;
        _writeConcern = MongoCommands.WriteConcernFor(MongoTopology.Standalone, options.MongoWriteConcern, options.MongoOperationTimeout);
        _logger = (ILogger?)loggerFactory?.CreateLogger<MongoDbWriter>() ?? NullLogger.Instance;
        _metrics = new DbWriterMetrics(meterFactory);
    }

    /// <summary>Tests only: called with a step name ("entity-writes", "record-requests", "clear-pending" before that step; "erase-resolved" right after an erasure's resolution is stored); returning true fails the batch
    /// there with a transient error, as a lost connection would.</summary>
    internal Func<string, bool>? FailBefore { get; set; }

    /// <summary>The write concern of every write (known after initialization).</summary>
    internal WriteConcern WriteConcern => _writeConcern;

    /// <summary>The client settings built from the connection string (timeouts, read preference).</summary>
    internal MongoClientSettings ClientSettings => _settings;

    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await EnsureReadyAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    public DbWriterRefusal? CheckStorable(string dtoType, JsonElement payload) =>
        MongoLimits.Check(dtoType, entityId: null, replayKey: null, payload, out _);

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync();
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _metrics.Dispose();
            _requestIds?.Dispose(); // its build reads beside the writer until it stops
            if (_client is not null)
            {
                _client.Dispose();
                _client = null;
                _logger.MongoClosed(MongoConnection.Describe(_settings), _options.MongoDatabase);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Connects (within the connect timeout), creates the Nv collections' indexes, checks the schema version and
    /// loads the watermark. Runs again after a failed batch, so in-memory state never trusts a write whose
    /// acknowledgement was lost.</summary>
    /// <exception cref="DbWriterException">The store could not be reached (transient) or is not usable.</exception>
    private async Task EnsureReadyAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_ready)
        {
            return;
        }

        if (_database is null)
        {
            var client = _injectedDatabase is null ? new MongoClient(_settings) : null;
            try
            {
                var database = _injectedDatabase ?? client!.GetDatabase(_options.MongoDatabase);
                _topology = await MongoConnection.ProbeAsync(database, _settings, cancellationToken);
                _writeConcern = MongoCommands.WriteConcernFor(_topology, _options.MongoWriteConcern, _options.MongoOperationTimeout);
                _database = MongoConnection.ForWriter(database, _writeConcern);
            }
            catch
            {
                client?.Dispose();
                throw;
            }

            _client = client;
            _resolutions = _database.GetCollection<BsonDocument>(MongoCommands.ResolutionsCollection);
            _meta = _database.GetCollection<BsonDocument>(MongoCommands.MetaCollection);
        }

        try
        {
            await _resolutions!.Indexes.CreateOneAsync(
                new CreateIndexModel<BsonDocument>(new BsonDocument { { "requestId", 1 }, { "_id", 1 } },
                    new CreateIndexOptions { Name = "requestId_lsn" }),
                cancellationToken: cancellationToken);
            await CheckSchemaAsync(cancellationToken);
            await EnsureKeyIndexesAsync(cancellationToken);
            await EnsureRequestsAsync(cancellationToken);
            var stored = await Find(_meta!, MongoCommands.MetaId(MongoCommands.ResolvedThroughId)).FirstOrDefaultAsync(cancellationToken);
            _resolvedThrough = stored?["value"].ToInt64() ?? 0;
            var max = await Find(_resolutions, FilterDefinition<BsonDocument>.Empty)
                .Sort(new BsonDocument("_id", -1)).Limit(1).FirstOrDefaultAsync(cancellationToken);
            _maxResolutionLsn = Math.Max(_resolvedThrough, max?["_id"].ToInt64() ?? 0);
            // A crash after the last batch's resolutions were final but before the watermark moved: catch up now (a hole
            // this process learned before the reload counts too).
            _resolvedThrough = await AdvanceAsync(_resolvedThrough, cancellationToken);
        }
        catch (Exception ex) when (ex is MongoException or TimeoutException)
        {
            throw MongoErrors.Wrap(ex, "initialization");
        }

        _ready = true;
        _requestIds ??= new MongoRequestIdFilter(_database!.GetCollection<BsonDocument>(MongoRequests.Collection), _options.MongoOperationTimeout, _logger,
            _options.RequestIdFilterMinCapacity);
        _requestIds.StartBuildIfDue(_requestIds.StoredIdsBound); // under the gate: no outcome write in flight (see RequestIdFilter)
        _logger.MongoOpened(MongoConnection.Describe(_settings), _options.MongoDatabase, _topology.ToString(),
            _writeConcern.ToBsonDocument().ToJson(), _resolvedThrough);
    }

    /// <summary>Stamps a new database with the schema version, upgrades an older readable one, refuses a newer one.</summary>
    private async Task CheckSchemaAsync(CancellationToken cancellationToken)
    {
        var id = MongoCommands.MetaId(MongoCommands.SchemaVersionId);
        await _meta!.UpdateOneAsync(id, new BsonDocument("$setOnInsert", new BsonDocument("value", MongoCommands.SchemaVersion)),
            new UpdateOptions { IsUpsert = true }, cancellationToken);
        var version = (await Find(_meta, id).FirstAsync(cancellationToken))["value"].ToInt32();
        if (version is >= MongoCommands.OldestReadableSchemaVersion and < MongoCommands.SchemaVersion)
        {
            // Every field versions 2 and 3 add is optional: upgrading is stamping the new number ($max: never downgrade).
            await _meta.UpdateOneAsync(id, new BsonDocument("$max", new BsonDocument("value", MongoCommands.SchemaVersion)),
                cancellationToken: cancellationToken);
            _logger.MongoSchemaUpgraded(_options.MongoDatabase, version, MongoCommands.SchemaVersion);
            version = MongoCommands.SchemaVersion;
        }

        if (version != MongoCommands.SchemaVersion)
        {
            throw new DbWriterException(
                $"MongoDB database '{_options.MongoDatabase}' has Nv schema version {version}; this build understands " +
                $"{MongoCommands.OldestReadableSchemaVersion} to {MongoCommands.SchemaVersion}.",
                isTransient: false);
        }
    }

    /// <summary>The collection of a (validated) dtoType; creates its purge index once.</summary>
    private async Task<IMongoCollection<BsonDocument>> CollectionAsync(string dtoType, CancellationToken cancellationToken)
    {
        if (_collections.TryGetValue(dtoType, out var collection))
        {
            return collection;
        }

        collection = _database!.GetCollection<BsonDocument>(dtoType);
        await collection.Indexes.CreateOneAsync(
            new CreateIndexModel<BsonDocument>(new BsonDocument(MongoCommands.NvLsn, 1), new CreateIndexOptions<BsonDocument>
            {
                Name = "_nv_tombstones",
                PartialFilterExpression = new BsonDocument(MongoCommands.NvDeleted, true),
            }),
            cancellationToken: cancellationToken);
        _logger.TableCreated(_options.MongoDatabase + "." + dtoType, dtoType);
        return _collections[dtoType] = collection;
    }

    /// <summary>A find bounded by the operation timeout on the server (<c>maxTimeMS</c>).</summary>
    private IFindFluent<BsonDocument, BsonDocument> Find(IMongoCollection<BsonDocument> collection, FilterDefinition<BsonDocument> filter) =>
        collection.Find(filter, new FindOptions { MaxTime = _options.MongoOperationTimeout });

    /// <summary>Refuses a dtoType that is not a safe collection name, or is one of Nv's own.</summary>
    private static void ThrowIfInvalidDtoType(string dtoType, string paramName)
    {
        SqliteIdentifiers.ThrowIfInvalidDtoType(dtoType, paramName);
        if (DtoTypes.IsReserved(dtoType))
        {
            throw new ArgumentException($"dtoType '{dtoType}' is reserved for Nv's own collections.", paramName);
        }
    }
}
