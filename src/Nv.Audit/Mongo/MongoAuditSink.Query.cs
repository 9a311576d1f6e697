using MongoDB.Bson;
using MongoDB.Driver;
using Nv.Audit.Chain;
using Nv.Audit.Merkle;

namespace Nv.Audit.Mongo;

/// <summary>Reads: lookups, filtered keyset-paged queries (same cursor and order as SQLite), verification.</summary>
internal sealed partial class MongoAuditSink
{
    public async Task<IReadOnlySet<Guid>> ContainsAsync(IReadOnlyCollection<Guid> ids, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var found = new HashSet<Guid>();
        if (ids.Count == 0)
        {
            return found;
        }

        var entries = await EntriesAsync(cancellationToken);
        foreach (var chunk in ids.Distinct().Chunk(1000))
        {
            var filter = new BsonDocument("_id", new BsonDocument("$in", new BsonArray(chunk.Select(AuditCanonicalEncoding.FormatId))));
            foreach (var document in await entries.Find(filter, FindOptions()).Project(new BsonDocument("_id", 1)).ToListAsync(cancellationToken))
            {
                found.Add(Guid.ParseExact(document["_id"].AsString, "D"));
            }
        }

        return found;
    }

    public async Task<AuditEntry?> GetAsync(Guid id, CancellationToken cancellationToken = default)
    {
        var entries = await EntriesAsync(cancellationToken);
        var document = await entries.Find(new BsonDocument("_id", AuditCanonicalEncoding.FormatId(id)), FindOptions()).FirstOrDefaultAsync(cancellationToken);
        return document is null ? null : MongoAuditDocument.FromBson(document);
    }

    public async Task<AuditPage> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var limit = Math.Clamp(query.Limit, 1, 1000);
        var cursor = query.Cursor is null ? (AuditCursor?)null : AuditCursor.Decode(query.Cursor);
        var entries = await EntriesAsync(cancellationToken);
        var direction = query.Ascending ? 1 : -1;
        // One extra document tells whether another page exists without a second query. Read through a cursor, so a page
        // that reaches its byte budget ends there (the server's batches bound what is held beyond it).
        var page = new List<AuditEntry>(Math.Min(limit, 128));
        var budget = new AuditPageBudget(query);
        var more = false;
        using (var found = await entries.Find(QueryFilter(query, cursor), FindOptions())
            .Sort(new BsonDocument { { "timestamp", direction }, { "_id", direction } })
            .Limit(limit + 1)
            .ToCursorAsync(cancellationToken))
        {
            while (!more && await found.MoveNextAsync(cancellationToken))
            {
                foreach (var document in found.Current)
                {
                    if (page.Count == limit)
                    {
                        more = true;
                        break;
                    }

                    var entry = MongoAuditDocument.FromBson(document);
                    if (!budget.TryAdd(entry))
                    {
                        more = true;
                        break;
                    }

                    page.Add(entry);
                }
            }
        }

        var next = more
            ? new AuditCursor(AuditCanonicalEncoding.FormatTimestamp(page[^1].Timestamp), AuditCanonicalEncoding.FormatId(page[^1].Id)).Encode()
            : null;
        return new AuditPage(page, next);
    }

    public async Task<AuditVerification> VerifyAsync(CancellationToken cancellationToken = default)
    {
        var result = await VerifyChainsAsync(null, new AuditProgressReporter(null, ProgressInterval), cancellationToken);
        if (result.IsValid)
        {
            Log.VerificationPassed(_logger, result.EntriesChecked);
        }

        return result;
    }

    // Every chain, streamed in chain order through the unique (service, sequence) index: memory stays flat. With trees, each
    // chain's Merkle tree is recomputed from the same read (full verification). A broken chain is logged here.
    private async Task<AuditVerification> VerifyChainsAsync(Dictionary<string, MerkleTree>? trees, AuditProgressReporter progress,
        CancellationToken cancellationToken)
    {
        var entries = await EntriesAsync(cancellationToken);
        var verifier = new AuditChainVerifier();
        progress.Begin(AuditProgressPhase.VerifyEntries, progress.IsActive ? await ExpectedEntriesAsync(entries, cancellationToken) : null);
        using (var cursor = await entries.FindAsync(FilterDefinition<BsonDocument>.Empty,
            new FindOptions<BsonDocument> { Sort = new BsonDocument { { "service", 1 }, { "sequence", 1 } }, BatchSize = 1000 },
            cancellationToken))
        {
            var going = true;
            MerkleTree? tree = null;
            while (going && await cursor.MoveNextAsync(cancellationToken))
            {
                foreach (var document in cursor.Current)
                {
                    AuditEntry entry;
                    try
                    {
                        entry = MongoAuditDocument.FromBson(document);
                    }
                    catch (FormatException ex)
                    {
                        var chain = document.GetValue("service", "?").ToString() ?? "?";
                        var sequence = document.GetValue("sequence", 0L) is { IsNumeric: true } s ? s.ToInt64() : 0;
                        var broken = new AuditVerification
                        {
                            IsValid = false,
                            EntriesChecked = verifier.EntriesChecked + 1,
                            BrokenChain = chain,
                            BrokenSequence = sequence,
                            Reason = "entry edited: " + ex.Message,
                        };
                        Log.VerificationFailed(_logger, chain, sequence, broken.Reason);
                        progress.End(verifier.EntriesChecked);
                        return broken;
                    }

                    // MongoDB keeps no insertion position that an attacker could not also rewrite: sequence order only.
                    if (!verifier.Add(entry))
                    {
                        going = false;
                        break;
                    }

                    if (trees is not null)
                    {
                        if (!trees.TryGetValue(entry.Service, out tree))
                        {
                            trees[entry.Service] = tree = new MerkleTree();
                        }

                        tree.Append(verifier.LastLeafHash);
                    }

                    progress.Advance(verifier.EntriesChecked);
                }
            }
        }

        progress.End(verifier.EntriesChecked);
        var result = verifier.ToResult();
        if (!result.IsValid)
        {
            Log.VerificationFailed(_logger, result.BrokenChain!, result.BrokenSequence!.Value, result.Reason!);
        }

        return result;
    }

    // The entries the chains' heads account for (each chain's last sequence: MongoDB keeps no pruned prefix), verification's
    // progress total: one distinct over the (service, sequence) index and one indexed lookup per chain, not a count.
    private async Task<long> ExpectedEntriesAsync(IMongoCollection<BsonDocument> entries, CancellationToken cancellationToken)
    {
        long total = 0;
        foreach (var chain in await ChainNamesAsync(cancellationToken))
        {
            var head = await entries.Find(new BsonDocument("service", chain)).Sort(new BsonDocument("sequence", -1)).Limit(1)
                .Project(new BsonDocument { { "sequence", 1 }, { "_id", 0 } }).FirstOrDefaultAsync(cancellationToken);
            total += head?.GetValue("sequence", 0L) is { IsNumeric: true } sequence ? sequence.ToInt64() : 0;
        }

        return total;
    }

    /// <summary>The filter of a query: every set field must match; the cursor continues strictly after (or before) the
    /// last (timestamp, id) of the previous page. Values are bound as BSON values, never parsed as query language.</summary>
    internal static BsonDocument QueryFilter(AuditQuery query, AuditCursor? cursor)
    {
        var and = new BsonArray();
        void Match(string field, string? value)
        {
            if (value is not null)
            {
                and.Add(new BsonDocument(field, new BsonDocument("$eq", value)));
            }
        }

        Match("requestId", query.RequestId);
        Match("dtoType", query.DtoType);
        Match("entityId", query.EntityId);
        Match("userId", query.UserId);
        Match("service", query.Service);
        Match("category", query.Category is { } category ? AuditCategoryNames.ToName(category) : null);
        Match("operation", query.Operation);
        if (query.From is { } from)
        {
            and.Add(new BsonDocument("timestamp", new BsonDocument("$gte", AuditCanonicalEncoding.FormatTimestamp(from))));
        }

        if (query.To is { } to)
        {
            and.Add(new BsonDocument("timestamp", new BsonDocument("$lt", AuditCanonicalEncoding.FormatTimestamp(to))));
        }

        if (cursor is { } c)
        {
            var op = query.Ascending ? "$gt" : "$lt";
            and.Add(new BsonDocument("$or", new BsonArray
            {
                new BsonDocument("timestamp", new BsonDocument(op, c.Timestamp)),
                new BsonDocument { { "timestamp", c.Timestamp }, { "_id", new BsonDocument(op, c.Id) } },
            }));
        }

        return and.Count == 0 ? [] : new BsonDocument("$and", and);
    }

    private async Task<IMongoCollection<BsonDocument>> EntriesAsync(CancellationToken cancellationToken)
    {
        if (!_initialized)
        {
            await InitializeAsync(cancellationToken);
        }

        ObjectDisposedException.ThrowIf(_disposed, this);
        return _entries!;
    }
}
