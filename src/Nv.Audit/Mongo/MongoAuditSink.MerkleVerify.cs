using MongoDB.Bson;
using MongoDB.Driver;
using Nv.Audit.Merkle;

namespace Nv.Audit.Mongo;

/// <summary>Full verification on MongoDB, the same checks in the same order as the SQLite store: the hash chains (and the
/// Merkle trees recomputed from the same read of the entries), every stored checkpoint (signature, size, root), the
/// external checkpoint, then the stored leaves against the recomputed ones.</summary>
internal sealed partial class MongoAuditSink
{
    public Task<AuditVerification> VerifyAsync(AuditVerifyOptions? options, CancellationToken cancellationToken = default) =>
        VerifyAsync(options, null, cancellationToken);

    public async Task<AuditVerification> VerifyAsync(AuditVerifyOptions? options, IProgress<AuditProgress>? progress,
        CancellationToken cancellationToken = default)
    {
        var merkle = await MerkleAsync(cancellationToken);
        using var keyVerifier = options?.PublicKeyPem is { } given
            ? CheckpointVerifier.FromPublicKeyPem(given)
            : CheckpointVerifier.Trusting(await GetTrustedPublicKeysPemAsync(cancellationToken));
        var reporter = new AuditProgressReporter(progress, ProgressInterval);
        // One read of the entries checks every chain and recomputes every tree from the entries' canonical bytes.
        var trees = new Dictionary<string, MerkleTree>(StringComparer.Ordinal);
        var chains = await VerifyChainsAsync(trees, reporter, cancellationToken);
        if (!chains.IsValid)
        {
            return chains;
        }

        Log.VerificationPassed(_logger, chains.EntriesChecked);
        reporter.Begin(AuditProgressPhase.VerifyCheckpoints,
            reporter.IsActive ? await merkle.Checkpoints!.EstimatedDocumentCountAsync(cancellationToken: cancellationToken) : null);
        var result = await VerifyStoredCheckpointsAsync(merkle, keyVerifier, trees, chains, reporter, cancellationToken);
        reporter.End(result.CheckpointsChecked);
        if (result.IsValid && options?.FromCheckpoint is { } external)
        {
            result = CheckpointChecks.VerifyExternal(external, keyVerifier, trees, result);
        }

        if (result.IsValid)
        {
            reporter.Begin(AuditProgressPhase.VerifyLeaves, trees.Values.Sum(static t => t.Size));
            result = await VerifyStoredLeavesAsync(merkle, trees, result, reporter, cancellationToken);
            reporter.End();
        }

        if (!result.IsValid)
        {
            Log.Verified(_logger, result);
        }

        return result;
    }

    private static async Task<AuditVerification> VerifyStoredCheckpointsAsync(
        MongoMerkleState merkle, CheckpointVerifier keyVerifier, Dictionary<string, MerkleTree> trees, AuditVerification soFar,
        AuditProgressReporter progress, CancellationToken cancellationToken)
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

                progress.Advance(checkedCount);
            }
        }

        return soFar with { CheckpointsChecked = checkedCount };
    }

    private static async Task<AuditVerification> VerifyStoredLeavesAsync(
        MongoMerkleState merkle, Dictionary<string, MerkleTree> trees, AuditVerification soFar, AuditProgressReporter progress,
        CancellationToken cancellationToken)
    {
        long leaves = 0;
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
                progress.Advance(++leaves);
            }
        }

        return soFar;
    }
}
