using System.Buffers;
using Nv.Audit.Chain;
using Nv.Audit.Merkle;

namespace Nv.Audit;

/// <summary>Proof that an audit entry is leaf <see cref="LeafIndex"/> of its chain's Merkle tree at <see cref="TreeSize"/>.</summary>
/// <remarks>Verify offline: <c>leaf = SHA-256(0x00 || canonical entry bytes)</c> must equal <see cref="LeafHash"/>, and
/// <see cref="MerkleProofVerifier.VerifyInclusion"/> with <see cref="Path"/> must give <see cref="Root"/>, which a signed
/// <see cref="Checkpoint"/> vouches for.</remarks>
public sealed record AuditInclusionProof
{
    /// <summary>The entry as stored.</summary>
    public required AuditEntry Entry { get; init; }

    /// <summary>The chain (the entry's service).</summary>
    public required string Chain { get; init; }

    /// <summary>0-based leaf index: the entry's sequence − 1.</summary>
    public required long LeafIndex { get; init; }

    /// <summary>The tree size the proof is for.</summary>
    public required long TreeSize { get; init; }

    /// <summary>The entry's leaf hash.</summary>
    public required MerkleHash LeafHash { get; init; }

    /// <summary>The audit path, nearest the leaf first (RFC 9162 §2.1.3).</summary>
    public required InclusionProof Path { get; init; }

    /// <summary>The tree's root at <see cref="TreeSize"/>.</summary>
    public required MerkleHash Root { get; init; }

    /// <summary>A stored signed checkpoint at exactly <see cref="TreeSize"/>, when there is one.</summary>
    public SignedCheckpoint? Checkpoint { get; init; }

    /// <summary>Checks the proof from <see cref="Entry"/> as stored: its leaf hash, recomputed from its canonical bytes as the
    /// store hashed them when it appended the entry, must be <see cref="LeafHash"/> at the leaf its sequence names in its
    /// service's chain; the path must lead from that leaf to <see cref="Root"/>; and <see cref="Root"/> must be the root the
    /// <see cref="Checkpoint"/> (when there is one) gives for this chain and tree size. Not the checkpoint's signature: see
    /// <see cref="CheckpointVerifier"/>.</summary>
    /// <remarks>The leaf hashes, path and root come from the store's Merkle tree, the entry from its row: a row edited
    /// after it was appended (a field, its id, its sequence or service) no longer hashes to its leaf, and this is false.</remarks>
    public bool Verify()
    {
        if (Entry.Sequence - 1 != LeafIndex || !string.Equals(Entry.Service, Chain, StringComparison.Ordinal)
            || Path.LeafIndex != LeafIndex || Path.TreeSize != TreeSize)
        {
            return false;
        }

        if (Checkpoint is { Checkpoint: var signed }
            && (!string.Equals(signed.ChainId, Chain, StringComparison.Ordinal) || signed.TreeSize != TreeSize || signed.RootHash != Root))
        {
            return false;
        }

        MerkleHash leaf;
        try
        {
            _ = AuditHash.Compute(Entry, new ArrayBufferWriter<byte>(1024), out leaf);
        }
        catch (Exception ex) when (ex is ArgumentException or OverflowException or FormatException)
        {
            return false; // a stored field the canonical encoding refuses (a malformed prevHash, an unknown version): edited
        }

        return leaf == LeafHash && Path.Verify(leaf, Root);
    }

    // The proof of the leaf at index in the first treeSize leaves of a chain's tree (every store builds it the same way).
    internal static AuditInclusionProof FromTree(AuditEntry entry, string chain, MerkleTree tree, long index, long treeSize, SignedCheckpoint? checkpoint) => new()
    {
        Entry = entry,
        Chain = chain,
        LeafIndex = index,
        TreeSize = treeSize,
        LeafHash = tree.GetLeaf(index),
        Path = tree.GetInclusionProof(index, treeSize),
        Root = tree.RootAt(treeSize),
        Checkpoint = checkpoint,
    };
}
