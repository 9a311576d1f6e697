using System.Collections.Immutable;

namespace Nv.Audit.Merkle;

/// <summary>An RFC 9162 consistency proof: the hashes showing that an older tree is a prefix of a newer one.</summary>
public sealed record ConsistencyProof
{
    /// <summary>The size of the older tree.</summary>
    public required long FromSize { get; init; }

    /// <summary>The size of the newer tree.</summary>
    public required long ToSize { get; init; }

    /// <summary>The consistency path, bottom first (RFC 9162 §2.1.4.1 order).</summary>
    public required ImmutableArray<MerkleHash> Path { get; init; }

    /// <summary>Whether this proof shows the tree with <paramref name="fromRoot"/> is a prefix of the tree with <paramref name="toRoot"/>.</summary>
    public bool Verify(MerkleHash fromRoot, MerkleHash toRoot) =>
        MerkleProofVerifier.VerifyConsistency(FromSize, ToSize, fromRoot, toRoot, Path.AsSpan());
}
