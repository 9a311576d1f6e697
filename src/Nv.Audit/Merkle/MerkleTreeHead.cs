namespace Nv.Audit.Merkle;

/// <summary>A tree size and the root hash of the tree at that size, read together.</summary>
/// <param name="Size">Number of leaves.</param>
/// <param name="Root">Root hash of the tree with <paramref name="Size"/> leaves.</param>
public readonly record struct MerkleTreeHead(long Size, MerkleHash Root);
