namespace Nv.Audit.Merkle;

/// <summary>Append-only storage of a Merkle tree's leaf hashes, addressed by leaf index.</summary>
/// <remarks>
/// <see cref="MerkleTree"/> reads leaves back only to build proofs for sizes or ranges it has not cached.
/// A durable implementation (for example a column of the audit store) must return exactly the hashes
/// that were appended, in order; the tree is the only writer. Implementations need not be thread-safe:
/// the tree serializes its calls.
/// </remarks>
public interface IMerkleLeafStore
{
    /// <summary>Number of leaf hashes stored.</summary>
    long Count { get; }

    /// <summary>Returns the leaf hash at <paramref name="index"/> (0-based).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The index is negative or not below <see cref="Count"/>.</exception>
    MerkleHash GetLeafHash(long index);

    /// <summary>Appends a leaf hash at index <see cref="Count"/>.</summary>
    void Append(MerkleHash leafHash);
}
