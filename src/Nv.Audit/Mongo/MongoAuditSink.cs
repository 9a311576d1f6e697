using System.Buffers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MongoDB.Bson;
using MongoDB.Driver;
using Nv.Audit.Chain;

namespace Nv.Audit.Mongo;

/// <summary>The production audit store: one insert-only MongoDB collection with the same per-service SHA-256 hash chain
/// as the SQLite sink (same canonical encoding, same hashes, same verifier).</summary>
/// <remarks>
/// Failure policy: errors are never swallowed. A failed append forgets the cached chain heads (they are reloaded from
/// the collection on the next append) and rethrows; the pipeline logs a WARN and the backfill appends later. Because
/// <c>_id</c> is the entry id, a retry after a lost acknowledgement skips what landed; an ordered insert that stopped
/// part-way leaves a prefix of each chain, and the retry links the rest to the new head. The unique index on
/// (service, sequence) keeps every chain single-valued even if two writers race: the loser fails instead of forking.
/// Immutability: this class has no update or delete path; MongoDB cannot forbid them by itself, so deploy the Nv user
/// with a role granting only <c>find</c>, <c>insert</c>, <c>createCollection</c> and <c>createIndex</c> on
/// <c>audit_entries</c> of the audit database (README.md). That only works because the audit trail has a database of its
/// own (<see cref="AuditOptions.MongoDatabase"/>, default <c>nv_audit</c>): MongoDB grants per collection or per
/// database, never "all but one", so the writer's read-write grant on its database would cover a collection there.
/// Durability: inserts use write concern <c>j:true</c> (plus <c>w:majority</c> on a replica set or through a mongos),
/// with a <c>wtimeout</c>. Proofs: an RFC 9162 Merkle tree per chain with signed checkpoints, as in the SQLite store
/// (<c>MongoAuditSink.Merkle.cs</c>).
/// Threading: appends are serialized by one gate; reads run concurrently.
/// </remarks>
internal sealed partial class MongoAuditSink : IAuditSink
{
    private readonly AuditOptions _options;
    private readonly ILogger _logger;
    private readonly MongoClientSettings _settings;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly IMongoDatabase? _injectedDatabase;
    private readonly Dictionary<string, ChainHead> _heads = new(StringComparer.Ordinal);
    private readonly ArrayBufferWriter<byte> _scratch = new(4096);
    private readonly MongoMerkleState _merkle = new(); // Merkle leaves, checkpoints and signing keys (MongoAuditSink.Merkle.cs)
    private MongoClient? _client;
    private IMongoCollection<BsonDocument>? _entries;
    private volatile bool _initialized;
    private bool _disposed;

    /// <exception cref="ArgumentException">The connection string is malformed.</exception>
    public MongoAuditSink(AuditOptions options, ILogger<MongoAuditSink>? logger = null)
        : this(options, database: null, logger)
    {
    }

    /// <summary>Tests only: a sink over <paramref name="database"/> (a fake) instead of a client built from the connection
    /// string; everything else is the real code.</summary>
    internal MongoAuditSink(AuditOptions options, IMongoDatabase? database, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _logger = logger ?? NullLogger<MongoAuditSink>.Instance;
        _settings = Settings(options);
        _injectedDatabase = database;
    }

    /// <summary>Where the entries live, for messages (no credentials).</summary>
    public string Location => $"mongodb://{string.Join(",", _settings.Servers)}/{_options.MongoDatabase}.{MongoAuditDocument.Collection}";

    /// <summary>The least time between two progress reports of a running verification phase; tests set zero to get one every
    /// <see cref="AuditProgressReporter.CheckEvery"/> items.</summary>
    internal TimeSpan ProgressInterval { get; set; } = AuditProgressReporter.DefaultInterval;

    /// <summary>Whether inserts wait for a majority (known after initialization).</summary>
    internal WriteConcern? WriteConcern => _entries?.Settings.WriteConcern;

    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await InitializeCoreAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<int> AppendAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        foreach (var entry in entries)
        {
            AuditEntryValidation.Validate(entry);
        }

        if (entries.Count == 0)
        {
            return 0;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            await InitializeCoreAsync(cancellationToken);
            var inserted = 0;
            for (var start = 0; start < entries.Count; start += _options.MaxBatchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var count = Math.Min(_options.MaxBatchSize, entries.Count - start);
                inserted += await AppendChunkAsync(entries, start, count, cancellationToken);
            }

            Log.BatchAppended(_logger, inserted, entries.Count, entries.Count - inserted);
            return inserted;
        }
        finally
        {
            _gate.Release();
        }
    }

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
            _merkle.Dispose();
            if (_client is not null)
            {
                _client.Dispose();
                _client = null;
                Log.StoreClosed(_logger, Location);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<int> AppendChunkAsync(IReadOnlyList<AuditEntry> entries, int start, int count, CancellationToken cancellationToken)
    {
        var pending = new Dictionary<string, ChainHead>(StringComparer.Ordinal);
        var documents = new List<BsonDocument>(count);
        try
        {
            var ids = new BsonArray();
            for (var i = start; i < start + count; i++)
            {
                ids.Add(AuditCanonicalEncoding.FormatId(entries[i].Id));
            }

            var stored = new HashSet<string>(StringComparer.Ordinal);
            var existing = await _entries!.Find(new BsonDocument("_id", new BsonDocument("$in", ids)), FindOptions())
                .Project(new BsonDocument("_id", 1)).ToListAsync(cancellationToken);
            foreach (var document in existing)
            {
                stored.Add(document["_id"].AsString);
            }

            for (var i = start; i < start + count; i++)
            {
                var entry = entries[i];
                if (!stored.Add(AuditCanonicalEncoding.FormatId(entry.Id)))
                {
                    continue;
                }

                if (!pending.TryGetValue(entry.Service, out var head) && !_heads.TryGetValue(entry.Service, out head))
                {
                    head = await ReadHeadAsync(entry.Service, cancellationToken);
                }

                // The current encoding, stored with the entry, as the SQLite sink does; a sealed entry needs version 3, and a
                // chain never goes back to an older version.
                var version = Math.Max(AuditCanonicalEncoding.LeastVersionOf(entry), head.Version);
                var linked = entry with
                {
                    Sequence = head.Sequence + 1,
                    PrevHash = head.Hash,
                    Hash = string.Empty,
                    EncodingVersion = version,
                };
                linked = linked with { Hash = AuditHash.Compute(linked, _scratch) };
                documents.Add(MongoAuditDocument.ToBson(linked, _scratch));
                pending[entry.Service] = new ChainHead(linked.Sequence, linked.Hash, version);
            }

            if (documents.Count > 0)
            {
                await _entries!.InsertManyAsync(documents, new InsertManyOptions { IsOrdered = true }, cancellationToken);
            }
        }
        catch (Exception ex)
        {
            // Nothing is rolled back: an ordered insert stops at its first error, so a prefix of the chunk may be stored.
            // The cached heads may no longer match the collection; they are reloaded on the next append.
            _heads.Clear();
            Log.MongoAppendFailed(_logger, count, ex);
            throw;
        }

        foreach (var (chain, head) in pending)
        {
            _heads[chain] = head;
        }

        return documents.Count;
    }

    private async Task<ChainHead> ReadHeadAsync(string chain, CancellationToken cancellationToken)
    {
        var last = await _entries!.Find(new BsonDocument("service", chain), FindOptions()).Sort(new BsonDocument("sequence", -1)).Limit(1)
            .Project(new BsonDocument { { "sequence", 1 }, { "hash", 1 }, { "encoding", 1 } }).FirstOrDefaultAsync(cancellationToken);
        if (last is null)
        {
            return new ChainHead(0, AuditHash.Genesis, 0);
        }

        var version = last.GetValue("encoding", BsonNull.Value) is { IsNumeric: true } encoding ? encoding.ToInt32() : 0;

        var sequence = last.GetValue("sequence", 0L).ToInt64();
        var hash = last.GetValue("hash", BsonNull.Value) is BsonString text ? text.Value : null;
        // Linking new entries to a damaged head would extend a chain that can no longer verify: refuse.
        return AuditHash.IsWellFormed(hash)
            ? new ChainHead(sequence, hash!, version)
            : throw new AuditChainBrokenException(chain, sequence, "the chain head's hash is not a SHA-256 hex digest");
    }

    private readonly record struct ChainHead(long Sequence, string Hash, int Version);
}
