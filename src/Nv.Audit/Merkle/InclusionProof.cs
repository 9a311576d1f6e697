using System.Collections.Immutable;

namespace Nv.Audit.Merkle;

/// <summary>An RFC 9162 inclusion proof: the sibling hashes from a leaf up to the root of a tree of a given size.</summary>
public sealed record InclusionProof
{
    /// <summary>The 0-based index of the proven leaf.</summary>
    public required long LeafIndex { get; init; }

    /// <summary>The size of the tree the proof is for.</summary>
    public required long TreeSize { get; init; }

    /// <summary>The audit path, bottom (the leaf's sibling) first.</summary>
    public required ImmutableArray<MerkleHash> Path { get; init; }

    /// <summary>Whether this proof shows <paramref name="leafHash"/> at <see cref="LeafIndex"/> in the tree with <paramref name="root"/>.</summary>
    public bool Verify(MerkleHash leafHash, MerkleHash root) =>
        MerkleProofVerifier.VerifyInclusion(leafHash, LeafIndex, TreeSize, Path.AsSpan(), root);
}
