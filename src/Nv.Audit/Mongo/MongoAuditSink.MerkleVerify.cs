using MongoDB.Bson;
using MongoDB.Driver;
using Nv.Audit.Chain;
using Nv.Audit.Merkle;

namespace Nv.Audit.Mongo;

/// <summary>Full verification on MongoDB, the same checks in the same order as the SQLite store: the hash chains (and the
/// Merkle trees recomputed from the same read of the entries), every stored checkpoint (signature, size, root), the
/// external checkpoint, then the stored leaves against the recomputed ones.</summary>
/// <remarks>MongoDB reads without a snapshot, and a live host keeps appending entries, leaves and checkpoints while a
/// verification runs (SQLite's runs in one read transaction). So the stored checkpoints are read first: each then covers
/// only entries the scan after it finds, and one covering more is a trail cut back, not a race. The trees come from the
/// chain scan itself (the entries verified, none appended after). A leaf past its chain's tree is checked against its
/// entry, read then: appended meanwhile if that entry exists and hashes to it, else deleted or forged.</remarks>
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
        var checkpoints = await merkle.Checkpoints!.Find(FilterDefinition<BsonDocument>.Empty)
            .Sort(new BsonDocument { { "chain", 1 }, { "size", 1 } }).ToListAsync(cancellationToken);
        // One read of the entries checks every chain and recomputes every tree from the entries' canonical bytes.
        var trees = new Dictionary<string, MerkleTree>(StringComparer.Ordinal);
        var chains = await VerifyChainsAsync(trees, reporter, cancellationToken);
        if (!chains.IsValid)
        {
            return chains;
        }

        Log.VerificationPassed(_logger, chains.EntriesChecked);
        reporter.Begin(AuditProgressPhase.VerifyCheckpoints, checkpoints.Count);
        var signers = new HashSet<string>(StringComparer.Ordinal);
        var result = VerifyStoredCheckpoints(checkpoints, keyVerifier, trees, chains, signers, reporter);
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

        if (result.IsValid && options?.PublicKeyPem is null)
        {
            result = WarnOfKeysOnlyTheTrailLists(merkle, signers, result);
        }

        if (!result.IsValid)
        {
            Log.Verified(_logger, result);
        }

        return result;
    }

    /// <summary>Without a key given for the verification, the trail's own list of signing keys (<c>audit_signing_keys</c>)
    /// is trusted, and anyone who can write the audit database can add a key to it and sign a rewritten trail: a pass
    /// then proves the trail consistent with the keys it lists. A checkpoint signed by a key this process does not hold
    /// itself (its own key, <see cref="AuditOptions.PreviousPublicKeysPath"/>) is named in a warning.</summary>
    private AuditVerification WarnOfKeysOnlyTheTrailLists(MongoMerkleState merkle, HashSet<string> signers, AuditVerification result)
    {
        var own = CheckpointKeys.Trusted(merkle.Signer?.PublicKeyPem ?? AuditSigningKey.ResolvePublicKeyPem(_options), _options.PreviousPublicKeysPath);
        using var anchored = CheckpointVerifier.Trusting(own);
        var listedOnly = signers.Where(id => !anchored.KeyIds.Contains(id)).Order(StringComparer.Ordinal).ToList();
        return listedOnly.Count == 0 ? result : result with
        {
            Warnings = [.. result.Warnings,
                $"checkpoints signed by {string.Join(", ", listedOnly)} verified only against the key(s) the trail itself lists " +
                "(audit_signing_keys), which anyone who can write the audit database can add: verify with --public-key " +
                "(nv audit keys --out FILE where the host's key is) for evidence that does not rest on the store"],
        };
    }

    private static AuditVerification VerifyStoredCheckpoints(
        List<BsonDocument> checkpoints, CheckpointVerifier keyVerifier, Dictionary<string, MerkleTree> trees, AuditVerification soFar,
        HashSet<string> signers, AuditProgressReporter progress)
    {
        long checkedCount = 0;
        foreach (var document in checkpoints)
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

            signers.Add(signed.Checkpoint.KeyId);

            if (CheckpointChecks.CompareWithTree(signed.Checkpoint, trees.GetValueOrDefault(storedChain), 0) is { } failure)
            {
                return Broken(failure.Sequence, failure.Reason);
            }

            progress.Advance(checkedCount);
        }

        return soFar with { CheckpointsChecked = checkedCount };
    }

    private async Task<AuditVerification> VerifyStoredLeavesAsync(
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
                    // Past the entries the chain scan verified: a leaf stored since, for an entry appended since, or a forgery.
                    if (await CheckLeafAppendedSinceAsync(name, index, hash, cancellationToken) is { } reason)
                    {
                        return soFar with { IsValid = false, BrokenChain = name, BrokenSequence = index + 1, Reason = reason };
                    }

                    expected++;
                    progress.Advance(++leaves);
                    continue;
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

    /// <returns>Null when the entry the leaf covers exists and hashes to it; else why not.</returns>
    private async Task<string?> CheckLeafAppendedSinceAsync(string chain, long index, MerkleHash leaf, CancellationToken cancellationToken)
    {
        var entries = await EntriesAsync(cancellationToken);
        var document = await entries.Find(new BsonDocument { { "service", chain }, { "sequence", index + 1 } }).FirstOrDefaultAsync(cancellationToken);
        if (document is null)
        {
            return $"Merkle leaf {index} has no entry (entry deleted, or leaf forged)";
        }

        AuditHash.Compute(MongoAuditDocument.FromBson(document), new System.Buffers.ArrayBufferWriter<byte>(2048), out var computed);
        return computed == leaf ? null : $"stored Merkle leaf {index} does not match entry {index + 1} (leaf collection altered)";
    }
}
