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

    /// <summary>Checks the path against <see cref="Root"/> (not the signature: see <see cref="CheckpointVerifier"/>).</summary>
    public bool Verify() => Path.Verify(LeafHash, Root);

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
