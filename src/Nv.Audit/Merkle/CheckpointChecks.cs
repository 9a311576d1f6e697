namespace Nv.Audit.Merkle;

/// <summary>The checks of a signed checkpoint against a chain's tree recomputed from its entries, shared by every store's
/// verification: the tree must still contain the checkpoint's tree (same size or larger, same root at its size), and an
/// external checkpoint must also verify and be consistent with the tree.</summary>
internal static class CheckpointChecks
{
    public static AuditVerification VerifyExternal(
        SignedCheckpoint external, CheckpointVerifier keyVerifier, Dictionary<string, MerkleTree> trees, AuditVerification soFar)
    {
        var checkpoint = external.Checkpoint;
        AuditVerification Broken(long? sequence, string reason) => soFar with
        {
            IsValid = false,
            CheckpointsChecked = soFar.CheckpointsChecked + 1,
            BrokenChain = checkpoint.ChainId,
            BrokenSequence = sequence,
            BrokenCheckpointSize = checkpoint.TreeSize,
            Reason = "external checkpoint: " + reason,
        };

        var signature = keyVerifier.Verify(external);
        if (!signature.IsValid)
        {
            return signature.Failure == CheckpointFailure.KeyMismatch
                ? Broken(null, UnknownKey(checkpoint, signature)) with { UnknownKeyId = checkpoint.KeyId }
                : Broken(null, $"signature does not verify ({signature.Failure}: {signature.Reason})");
        }

        var tree = trees.GetValueOrDefault(checkpoint.ChainId);
        var failure = CompareWithTree(checkpoint, tree, 0);
        if (failure is not null)
        {
            return Broken(failure.Value.Sequence, failure.Value.Reason);
        }

        // Equal roots already prove it; the consistency proof is what an auditor without the entries would check.
        var size = tree?.Size ?? 0;
        if (tree is not null && checkpoint.TreeSize > 0)
        {
            var proof = tree.GetConsistencyProof(checkpoint.TreeSize, size);
            if (!proof.Verify(checkpoint.RootHash, tree.Root))
            {
                return Broken(null, $"the tree at size {size} is not consistent with the checkpoint at size {checkpoint.TreeSize}");
            }
        }

        return soFar with { CheckpointsChecked = soFar.CheckpointsChecked + 1 };
    }

    /// <summary>Why a checkpoint signed by a key the verifier does not hold (<paramref name="result"/>, a
    /// <see cref="CheckpointFailure.KeyMismatch"/>) was not checked: the key is named, with the verifier's own reason and how to
    /// give the key. Not a forgery finding: a host may sign with a key this process was not given (<c>NV_AUDIT_SIGNING_KEY</c>
    /// in the host's environment only).</summary>
    public static string UnknownKey(Checkpoint checkpoint, CheckpointVerificationResult result)
    {
        var when = checkpoint.Timestamp.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        return $"checkpoint at size {checkpoint.TreeSize} ({when}) is signed by key '{checkpoint.KeyId}', which this verification "
            + $"was not given, so its signature was not checked ({result.Failure}: {result.Reason}); give that key's public half "
            + "(--public-key FILE, the host's NV_AUDIT_SIGNING_KEY or Nv:Audit:SigningKeyPath, or Nv:Audit:PreviousPublicKeysPath "
            + "after a key change; nv audit keys --out FILE, run where that key is set, writes it): a checkpoint none of your keys "
            + "verifies was not signed by you";
    }

    // Whether the recomputed tree still contains the checkpoint's tree: same size or larger, same root at its size.
    public static (long? Sequence, string Reason)? CompareWithTree(Checkpoint checkpoint, MerkleTree? tree, long lastGoodSize)
    {
        var size = tree?.Size ?? 0;
        var when = checkpoint.Timestamp.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        if (checkpoint.TreeSize > size)
        {
            var missing = checkpoint.TreeSize - size == 1
                ? $"entry {checkpoint.TreeSize} is missing"
                : $"entries {size + 1}..{checkpoint.TreeSize} are missing";
            return (size + 1, $"{missing}: the chain has {size} entries but the checkpoint signed at {when} covers {checkpoint.TreeSize} " +
                "(newest entries deleted)");
        }

        var root = checkpoint.TreeSize == 0 ? MerkleHasher.EmptyRoot : tree!.RootAt(checkpoint.TreeSize);
        if (root != checkpoint.RootHash)
        {
            return (lastGoodSize + 1, $"Merkle root mismatch: entries {lastGoodSize + 1}..{checkpoint.TreeSize} no longer match the checkpoint " +
                $"signed at {when} (history rewritten, with recomputed hashes)");
        }

        return null;
    }
}
