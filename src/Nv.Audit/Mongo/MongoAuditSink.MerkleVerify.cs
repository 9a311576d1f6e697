using MongoDB.Bson;
using MongoDB.Driver;
using Nv.Audit.Chain;
using Nv.Audit.Merkle;

namespace Nv.Audit.Mongo;

/// <summary>Full verification on MongoDB, the same checks in the same order as the SQLite store: the hash chains, every
/// stored checkpoint (signature, size, root recomputed from the entries), the external checkpoint, then the stored leaves
/// against the recomputed ones.</summary>
internal sealed partial class MongoAuditSink
{
    public async Task<AuditVerification> VerifyAsync(AuditVerifyOptions? options, CancellationToken cancellationToken = default)
    {
        var merkle = await MerkleAsync(cancellationToken);
        using var keyVerifier = options?.PublicKeyPem is { } given
            ? CheckpointVerifier.FromPublicKeyPem(given)
            : CheckpointVerifier.Trusting(await GetTrustedPublicKeysPemAsync(cancellationToken));
        var chains = await VerifyAsync(cancellationToken);
        if (!chains.IsValid)
        {
            return chains;
        }

        var trees = await RecomputeTreesAsync(cancellationToken);
        var result = await VerifyStoredCheckpointsAsync(merkle, keyVerifier, trees, chains, cancellationToken);
        if (result.IsValid && options?.FromCheckpoint is { } external)
        {
            result = CheckpointChecks.VerifyExternal(external, keyVerifier, trees, result);
        }

        if (result.IsValid)
        {
            result = await VerifyStoredLeavesAsync(merkle, trees, result, cancellationToken);
        }

        if (!result.IsValid)
        {
            Log.Verified(_logger, result);
        }

        return result;
    }

    // Every chain's tree recomputed from its entries' canonical bytes (the chains verified just before).
    private async Task<Dictionary<string, MerkleTree>> RecomputeTreesAsync(CancellationToken cancellationToken)
    {
        var entries = await EntriesAsync(cancellationToken);
        var trees = new Dictionary<string, MerkleTree>(StringComparer.Ordinal);
        var scratch = new System.Buffers.ArrayBufferWriter<byte>(2048);
        using var cursor = await entries.FindAsync(FilterDefinition<BsonDocument>.Empty,
            new FindOptions<BsonDocument> { Sort = new BsonDocument { { "service", 1 }, { "sequence", 1 } }, BatchSize = 1000 }, cancellationToken);
        while (await cursor.MoveNextAsync(cancellationToken))
        {
            foreach (var document in cursor.Current)
            {
                var entry = MongoAuditDocument.FromBson(document);
                if (!trees.TryGetValue(entry.Service, out var tree))
                {
                    trees[entry.Service] = tree = new MerkleTree();
                }

                AuditHash.Compute(entry, scratch, out var leaf);
                tree.Append(leaf);
            }
        }

        return trees;
    }

    private static async Task<AuditVerification> VerifyStoredCheckpointsAsync(
        MongoMerkleState merkle, CheckpointVerifier keyVerifier, Dictionary<string, MerkleTree> trees, AuditVerification soFar,
        CancellationToken cancellationToken)
    {
        long checkedCount = 0;
        using var cursor = await merkle.Checkpoints!.FindAsync(FilterDefinition<BsonDocument>.Empty,
            new FindOptions<BsonDocument> { Sort = new BsonDocument { { "chain", 1 }, { "size", 1 } } }, cancellationToken);
        while (await cursor.MoveNextAsync(cancellationToken))
        {
            foreach (var document in cursor.Current)
            {
                checkedCount++;
                var storedChain = document.GetValue("chain", "?").ToString() ?? "?";
                var storedSize = document.GetValue("size", 0L) is { IsNumeric: true } s ? s.ToInt64() : 0;
                AuditVerification Broken(long? sequence, string reason) => soFar with
                {
                    IsValid = false,
                    CheckpointsChecked = checkedCount,
                    BrokenChain = storedChain,
                    BrokenSequence = sequence,
                    BrokenCheckpointSize = storedSize,
                    Reason = reason,
                };

                SignedCheckpoint signed;
                try
                {
                    signed = MongoMerkleDocuments.ReadCheckpoint(document).Signed;
                }
                catch (Exception ex) when (ex is CheckpointFormatException or FormatException)
                {
                    return Broken(null, $"stored checkpoint (size {storedSize}) is malformed: {ex.Message}");
                }

                if (signed.Checkpoint.ChainId != storedChain || signed.Checkpoint.TreeSize != storedSize)
                {
                    return Broken(null, $"stored checkpoint: its fields (chain {storedChain}, size {storedSize}) do not match its signed text (checkpoint edited)");
                }

                var signature = keyVerifier.Verify(signed);
                if (signature.Failure == CheckpointFailure.KeyMismatch)
                {
                    return Broken(null, CheckpointChecks.UnknownKey(signed.Checkpoint, signature)) with { UnknownKeyId = signed.Checkpoint.KeyId };
                }

                if (!signature.IsValid)
                {
                    return Broken(null, $"checkpoint at size {storedSize}: signature does not verify ({signature.Failure}: {signature.Reason}) (checkpoint forged or altered)");
                }

                if (CheckpointChecks.CompareWithTree(signed.Checkpoint, trees.GetValueOrDefault(storedChain), 0) is { } failure)
                {
                    return Broken(failure.Sequence, failure.Reason);
                }
            }
        }

        return soFar with { CheckpointsChecked = checkedCount };
    }

    private static async Task<AuditVerification> VerifyStoredLeavesAsync(
        MongoMerkleState merkle, Dictionary<string, MerkleTree> trees, AuditVerification soFar, CancellationToken cancellationToken)
    {
        using var cursor = await merkle.Leaves!.FindAsync(FilterDefinition<BsonDocument>.Empty,
            new FindOptions<BsonDocument> { Sort = MongoMerkleDocuments.LeafOrder, BatchSize = 5000 }, cancellationToken);
        string? chain = null;
        long expected = 0;
        while (await cursor.MoveNextAsync(cancellationToken))
        {
            foreach (var document in cursor.Current)
            {
                var (name, index, hash) = MongoMerkleDocuments.ReadLeaf(document);
                if (!string.Equals(name, chain, StringComparison.Ordinal))
                {
                    chain = name;
                    expected = 0;
                }

                var tree = trees.GetValueOrDefault(name);
                if (index != expected)
                {
                    return soFar with { IsValid = false, BrokenChain = name, BrokenSequence = expected + 1, Reason = $"Merkle leaf {expected} is missing (leaves deleted)" };
                }

                if (tree is null || index >= tree.Size)
                {
                    return soFar with { IsValid = false, BrokenChain = name, BrokenSequence = index + 1, Reason = $"Merkle leaf {index} has no entry (entry deleted, or leaf forged)" };
                }

                if (hash != tree.GetLeaf(index))
                {
                    return soFar with { IsValid = false, BrokenChain = name, BrokenSequence = index + 1, Reason = $"stored Merkle leaf {index} does not match entry {index + 1} (leaf collection altered)" };
                }

                expected++;
            }
        }

        return soFar;
    }
}
