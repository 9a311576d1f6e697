using System.Buffers;
using MongoDB.Bson;
using MongoDB.Driver;
using Nv.Audit.Chain;
using Nv.Audit.Merkle;

namespace Nv.Audit.Mongo;

/// <summary>The Merkle tree per chain, signed checkpoints and proofs on MongoDB: the same RFC 9162 tree, leaf hashes,
/// checkpoint format and verification as the SQLite store (docs/audit-merkle.md), so <c>nv audit prove</c>,
/// <c>verify</c>, <c>checkpoint</c> and the proof API work on the production store too.</summary>
/// <remarks>
/// The leaves are derived from the entries, not written with them: the append path stays one ordered insert per batch. A
/// chain's tree is caught up before every proof, checkpoint and verification, and by a background pass every
/// <see cref="AuditOptions.CheckpointInterval"/> (at most 30 s) that also signs the checkpoints that are due (after
/// <see cref="AuditOptions.CheckpointEveryEntries"/> new entries or the interval). Catching up reads the entries after the
/// last stored leaf in chain order and accepts each only if it is the next of its chain (sequence, previous hash) and
/// hashes to its stored hash, then stores its leaf (an idempotent insert: a leaf already stored must be the same leaf).
/// So a leaf never covers an entry that does not verify; an entry rewritten between its append and its leaf, with every
/// later hash recomputed, is what the chain alone cannot catch either; a checkpoint closes that window for everything
/// before it. Checkpoints are inserted with the store's write concern (journaled). Failures are never swallowed by
/// callers' operations; the background pass (<c>MongoAuditSink.Checkpointer.cs</c>) logs them, records a
/// <c>checkpoint-failed</c> entry in the chain, and tries again next time. Every chain is checkpointed on its own: one
/// that fails does not hold the others back.
/// </remarks>
internal sealed partial class MongoAuditSink : IAuditProofs
{
    private const int LeafBatch = 1000;

    public async Task<AuditInclusionProof?> GetInclusionProofAsync(Guid entryId, long? treeSize = null, CancellationToken cancellationToken = default)
    {
        var entry = await GetAsync(entryId, cancellationToken);
        if (entry is null)
        {
            return null;
        }

        var merkle = await MerkleAsync(cancellationToken);
        await merkle.Gate.WaitAsync(cancellationToken);
        try
        {
            var chain = await CaughtUpAsync(merkle, entry.Service, cancellationToken);
            var index = entry.Sequence - 1;
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, chain.Tree.Size, nameof(entryId));
            SignedCheckpoint? checkpoint;
            long size;
            if (treeSize is { } requested)
            {
                ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(requested, index, nameof(treeSize));
                ArgumentOutOfRangeException.ThrowIfGreaterThan(requested, chain.Tree.Size, nameof(treeSize));
                size = requested;
                checkpoint = chain.Latest?.Checkpoint.TreeSize == size ? chain.Latest : await FindCheckpointAsync(merkle, chain.Name, size, cancellationToken);
            }
            else
            {
                if (chain.Latest is not { } cached || cached.Checkpoint.TreeSize <= index)
                {
                    // Another process may have signed one since this one loaded the chain.
                    chain.Latest = await GetLatestCheckpointAsync(chain.Name, cancellationToken) ?? chain.Latest;
                }

                // Against the newest stored checkpoint when it covers the entry; else one is signed now, by a process that signs
                // (never by a read-only one or one whose key the trail does not list: the proof is then against the current
                // tree, with no checkpoint).
                checkpoint = chain.Latest is { } latest && latest.Checkpoint.TreeSize > index ? latest
                    : merkle.Signer is null ? null
                    : await SignAsync(merkle, chain, cancellationToken);
                size = checkpoint?.Checkpoint.TreeSize ?? chain.Tree.Size;
            }

            return AuditInclusionProof.FromTree(entry, chain.Name, chain.Tree, index, size, checkpoint);
        }
        finally
        {
            merkle.Gate.Release();
        }
    }

    public async Task<AuditConsistencyProof> GetConsistencyProofAsync(string chain, long fromSize, long toSize, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(chain);
        var merkle = await MerkleAsync(cancellationToken);
        await merkle.Gate.WaitAsync(cancellationToken);
        try
        {
            var state = await CaughtUpAsync(merkle, chain, cancellationToken);
            if (!Holds(state))
            {
                throw new KeyNotFoundException($"The audit store has no chain '{chain}' (no entries, no checkpoint).");
            }

            var tree = state.Tree;
            return new AuditConsistencyProof
            {
                Chain = chain,
                Proof = tree.GetConsistencyProof(fromSize, toSize),
                FromRoot = tree.RootAt(fromSize),
                ToRoot = tree.RootAt(toSize),
            };
        }
        finally
        {
            merkle.Gate.Release();
        }
    }

    public async Task<SignedCheckpoint?> CheckpointAsync(string chain, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(chain);
        var merkle = await MerkleAsync(cancellationToken);
        await merkle.Gate.WaitAsync(cancellationToken);
        try
        {
            var state = await CaughtUpAsync(merkle, chain, cancellationToken);
            return state.Tree.Size == 0 ? null : await SignAsync(merkle, state, cancellationToken);
        }
        finally
        {
            merkle.Gate.Release();
        }
    }

    /// <remarks>Each chain on its own: one that fails (a broken chain, a failed insert) does not keep the others from being
    /// checkpointed. After every chain was tried, the failure is thrown (several: an <see cref="AggregateException"/>);
    /// the checkpoints signed meanwhile are stored.</remarks>
    public async Task<IReadOnlyList<SignedCheckpoint>> CheckpointAllAsync(CancellationToken cancellationToken = default)
    {
        var merkle = await MerkleAsync(cancellationToken);
        if (merkle.Signer is null)
        {
            throw CannotSign(merkle);
        }

        var signed = new List<SignedCheckpoint>();
        List<Exception>? failures = null;
        foreach (var name in await ChainNamesAsync(cancellationToken))
        {
            await merkle.Gate.WaitAsync(cancellationToken);
            try
            {
                var state = await CaughtUpAsync(merkle, name, cancellationToken);
                if (state.Tree.Size > (state.Latest?.Checkpoint.TreeSize ?? 0))
                {
                    signed.Add(await SignAsync(merkle, state, cancellationToken));
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
            {
                (failures ??= []).Add(ex);
            }
            finally
            {
                merkle.Gate.Release();
            }
        }

        if (failures is { Count: 1 })
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failures[0]);
        }

        return failures is null ? signed : throw new AggregateException("Checkpoints of several audit chains failed.", failures);
    }

    public async Task<SignedCheckpoint?> GetLatestCheckpointAsync(string chain, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(chain);
        var merkle = await MerkleAsync(cancellationToken);
        var newest = await merkle.Checkpoints!.Find(new BsonDocument("chain", chain)).Sort(MongoMerkleDocuments.NewestFirst).Limit(1)
            .FirstOrDefaultAsync(cancellationToken);
        return newest is null ? null : MongoMerkleDocuments.ReadCheckpoint(newest).Signed;
    }

    public async Task<IReadOnlyList<SignedCheckpoint>> GetLatestCheckpointsAsync(CancellationToken cancellationToken = default)
    {
        var latest = new List<SignedCheckpoint>();
        foreach (var name in await ChainNamesAsync(cancellationToken))
        {
            if (await GetLatestCheckpointAsync(name, cancellationToken) is { } checkpoint)
            {
                latest.Add(checkpoint);
            }
        }

        return latest;
    }

    // The Merkle collections, the signing key (or why this process signs none) and the background pass, set up on first
    // use. A read-only opening writes nothing: no index, no key, no signing pass (see MongoAuditSink.SigningKeys.cs).
    private async Task<MongoMerkleState> MerkleAsync(CancellationToken cancellationToken)
    {
        var entries = await EntriesAsync(cancellationToken);
        var merkle = _merkle;
        if (merkle.Ready)
        {
            return merkle;
        }

        await merkle.Gate.WaitAsync(cancellationToken);
        try
        {
            if (!merkle.Ready)
            {
                var database = entries.Database;
                merkle.Leaves = database.GetCollection<BsonDocument>(MongoMerkleDocuments.Leaves).WithWriteConcern(entries.Settings.WriteConcern);
                merkle.Checkpoints = database.GetCollection<BsonDocument>(MongoMerkleDocuments.Checkpoints).WithWriteConcern(entries.Settings.WriteConcern);
                merkle.SigningKeys = database.GetCollection<BsonDocument>(MongoMerkleDocuments.SigningKeys).WithWriteConcern(entries.Settings.WriteConcern);
                if (!_options.ReadOnly)
                {
                    await merkle.Checkpoints.Indexes.CreateOneAsync(MongoMerkleDocuments.CheckpointIndex, cancellationToken: cancellationToken);
                    merkle.Signer = await ResolveSignerAsync(merkle, cancellationToken);
                    if (merkle.Signer is not null)
                    {
                        merkle.Stop = new CancellationTokenSource();
                        var stop = merkle.Stop.Token;
                        merkle.Loop = Task.Run(() => SignDueCheckpointsLoopAsync(stop), CancellationToken.None);
                    }
                }

                merkle.Ready = true;
            }

            return merkle;
        }
        finally
        {
            merkle.Gate.Release();
        }
    }

    private async Task<List<string>> ChainNamesAsync(CancellationToken cancellationToken)
    {
        var entries = await EntriesAsync(cancellationToken);
        using var cursor = await entries.DistinctAsync<string>("service", FilterDefinition<BsonDocument>.Empty, cancellationToken: cancellationToken);
        var names = await cursor.ToListAsync(cancellationToken);
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    // The chain's tree, loaded from its stored leaves on first use and caught up with the entries appended since. Caller
    // holds the Merkle gate. Kept in memory only once the store holds the chain (a leaf or a checkpoint): proofs and
    // checkpoints are asked about names a caller chose, and keeping an empty tree for each would grow without bound. A
    // failure drops the kept tree: the next use loads it again from what the store holds.
    private async Task<MongoChainTree> CaughtUpAsync(MongoMerkleState merkle, string name, CancellationToken cancellationToken)
    {
        try
        {
            return await CatchUpAsync(merkle, name, cancellationToken);
        }
        catch
        {
            merkle.Chains.Remove(name);
            throw;
        }
    }

    private async Task<MongoChainTree> CatchUpAsync(MongoMerkleState merkle, string name, CancellationToken cancellationToken)
    {
        if (!merkle.Chains.TryGetValue(name, out var chain))
        {
            chain = await LoadChainAsync(merkle, name, cancellationToken);
            if (Holds(chain))
            {
                merkle.Chains[name] = chain;
            }
        }

        var entries = await EntriesAsync(cancellationToken);
        var filter = new BsonDocument { { "service", name }, { "sequence", new BsonDocument("$gt", chain.Tree.Size) } };
        using var cursor = await entries.Find(filter).Sort(new BsonDocument("sequence", 1)).ToCursorAsync(cancellationToken);
        var verifier = new AuditChainVerifier(new Dictionary<string, (long, string)> { [name] = (chain.Tree.Size, chain.LastHash) });
        var batch = new List<(long Index, MerkleHash Leaf, string Hash)>(LeafBatch);
        while (await cursor.MoveNextAsync(cancellationToken))
        {
            foreach (var document in cursor.Current)
            {
                var entry = MongoAuditDocument.FromBson(document);
                if (!verifier.Add(entry))
                {
                    await StoreLeavesAsync(merkle, chain, batch, !_options.ReadOnly, cancellationToken);
                    throw new AuditChainBrokenException(name, verifier.BrokenSequence ?? entry.Sequence, verifier.Reason + "; its Merkle leaf is not computed");
                }

                batch.Add((entry.Sequence - 1, verifier.LastLeafHash, entry.Hash));
                if (batch.Count == LeafBatch)
                {
                    await StoreLeavesAsync(merkle, chain, batch, !_options.ReadOnly, cancellationToken);
                }
            }
        }

        await StoreLeavesAsync(merkle, chain, batch, !_options.ReadOnly, cancellationToken);
        if (Holds(chain))
        {
            merkle.Chains.TryAdd(name, chain); // a chain first seen just now, with its first leaves
        }

        return chain;
    }

    // Whether the store holds the chain: a name no entry carries has an empty tree and no checkpoint.
    private static bool Holds(MongoChainTree chain) => chain.Tree.Size > 0 || chain.Latest is not null;

    // Inserts the leaves (idempotent: a leaf another writer stored already must be the same), then appends them to the tree.
    // Only duplicate keys are "already stored": a write-concern error (wtimeout) says nothing about durability, so it fails
    // the catch-up and no leaf joins the tree (nor any checkpoint signs it) until an insert is acknowledged. A read-only
    // opening (store: false) only appends them to its tree in memory.
    private static async Task StoreLeavesAsync(
        MongoMerkleState merkle, MongoChainTree chain, List<(long Index, MerkleHash Leaf, string Hash)> batch, bool store, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return;
        }

        try
        {
            if (store)
            {
                await merkle.Leaves!.InsertManyAsync(batch.Select(b => MongoMerkleDocuments.Leaf(chain.Name, b.Index, b.Leaf)),
                    new InsertManyOptions { IsOrdered = false }, cancellationToken);
            }
        }
        catch (MongoBulkWriteException<BsonDocument> ex) when (ex.WriteConcernError is null && ex.WriteErrors.Count > 0
            && ex.WriteErrors.All(static e => e.Category == ServerErrorCategory.DuplicateKey))
        {
            var stored = await merkle.Leaves!.Find(MongoMerkleDocuments.LeavesFrom(chain.Name, batch[0].Index)).Sort(MongoMerkleDocuments.LeafOrder)
                .Limit(batch.Count).ToListAsync(cancellationToken);
            var byIndex = stored.Select(MongoMerkleDocuments.ReadLeaf).ToDictionary(static l => l.Index, static l => l.Hash);
            var differs = batch.FirstOrDefault(b => byIndex.TryGetValue(b.Index, out var hash) && hash != b.Leaf);
            if (differs.Hash is not null)
            {
                throw new AuditChainBrokenException(chain.Name, differs.Index + 1,
                    $"the stored Merkle leaf {differs.Index} does not match its entry (leaf table altered)");
            }
        }

        foreach (var (_, leaf, hash) in batch)
        {
            chain.Tree.Append(leaf);
            chain.LastHash = hash;
        }

        batch.Clear();
    }

    private async Task<MongoChainTree> LoadChainAsync(MongoMerkleState merkle, string name, CancellationToken cancellationToken)
    {
        var leaves = new InMemoryMerkleLeafStore();
        using (var cursor = await merkle.Leaves!.Find(MongoMerkleDocuments.LeavesFrom(name, 0)).Sort(MongoMerkleDocuments.LeafOrder).ToCursorAsync(cancellationToken))
        {
            while (await cursor.MoveNextAsync(cancellationToken))
            {
                foreach (var document in cursor.Current)
                {
                    var (_, index, hash) = MongoMerkleDocuments.ReadLeaf(document);
                    if (index != leaves.Count)
                    {
                        throw new AuditChainBrokenException(name, leaves.Count + 1, $"Merkle leaf {leaves.Count} is missing (leaves deleted); run verification");
                    }

                    leaves.Append(hash);
                }
            }
        }

        var lastHash = AuditHash.Genesis;
        if (leaves.Count > 0)
        {
            var entries = await EntriesAsync(cancellationToken);
            var last = await entries.Find(new BsonDocument { { "service", name }, { "sequence", leaves.Count } }).FirstOrDefaultAsync(cancellationToken)
                ?? throw new AuditChainBrokenException(name, leaves.Count, $"the chain has Merkle leaves for entries it no longer has (entry {leaves.Count} deleted)");
            lastHash = MongoAuditDocument.FromBson(last).Hash;
        }

        var latest = await GetLatestCheckpointAsync(name, cancellationToken);
        return new MongoChainTree(name, new MerkleTree(leaves), lastHash)
        {
            Latest = latest,
            LastCheckpointAt = latest?.Checkpoint.Timestamp ?? DateTimeOffset.UtcNow,
        };
    }

    // Signs the chain's current head (unless the newest checkpoint has that size) and stores it. Caller holds the gate.
    private async Task<SignedCheckpoint> SignAsync(MongoMerkleState merkle, MongoChainTree chain, CancellationToken cancellationToken)
    {
        var head = chain.Tree.Head;
        if (chain.Latest is { } latest && latest.Checkpoint.TreeSize == head.Size)
        {
            return latest;
        }

        var signed = (merkle.Signer ?? throw CannotSign(merkle)).Sign(chain.Name, head.Size, head.Root, DateTimeOffset.UtcNow);
        try
        {
            await merkle.Checkpoints!.InsertOneAsync(MongoMerkleDocuments.Checkpoint(signed), cancellationToken: cancellationToken);
        }
        catch
        {
            merkle.Chains.Remove(chain.Name); // the checkpoint may or may not be stored: the next use reads which
            throw;
        }

        chain.Latest = signed;
        chain.LastCheckpointAt = signed.Checkpoint.Timestamp;
        return signed;
    }

    private static async Task<SignedCheckpoint?> FindCheckpointAsync(MongoMerkleState merkle, string chain, long size, CancellationToken cancellationToken)
    {
        var document = await merkle.Checkpoints!.Find(new BsonDocument { { "chain", chain }, { "size", size } })
            .Sort(MongoMerkleDocuments.NewestFirst).Limit(1).FirstOrDefaultAsync(cancellationToken);
        return document is null ? null : MongoMerkleDocuments.ReadCheckpoint(document).Signed;
    }
}
