using System.Collections.Immutable;
using System.Numerics;
using Nv.Audit.Merkle;

namespace Nv.Audit.Archive;

/// <summary>The Merkle tree of a chain as an archive of a range sees it: the first <see cref="BaseSize"/> leaves only as the
/// hashes of their complete subtrees (the frontier, one per set bit of the base size), then every leaf of the range.</summary>
/// <remarks>Enough for the root at any size from the base on and for the inclusion proof of any leaf of the range (every
/// node of an RFC 9162 tree that lies wholly before the base is one of the frontier's subtrees or inside one, and the
/// recursion from the root meets the frontier subtree first). Roots and proofs are recomputed from the leaves: O(n) per
/// call, for offline verification. Not thread-safe.</remarks>
internal sealed class ArchiveTree
{
    private readonly Dictionary<(long Start, long Count), MerkleHash> _base = [];
    private readonly List<MerkleHash> _leaves = [];

    /// <exception cref="FormatException">The frontier does not have one hash per set bit of <paramref name="baseSize"/>.</exception>
    public ArchiveTree(long baseSize, IReadOnlyList<MerkleHash> frontier)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(baseSize);
        ArgumentNullException.ThrowIfNull(frontier);
        if (frontier.Count != BitOperations.PopCount((ulong)baseSize))
        {
            throw new FormatException($"The frontier of {baseSize} leaves has {BitOperations.PopCount((ulong)baseSize)} subtree hashes, not {frontier.Count}.");
        }

        BaseSize = baseSize;
        long start = 0;
        var i = 0;
        for (var level = 62; level >= 0; level--)
        {
            if (((baseSize >> level) & 1) == 1)
            {
                _base[(start, 1L << level)] = frontier[i++];
                start += 1L << level;
            }
        }
    }

    /// <summary>How many leaves come before the range.</summary>
    public long BaseSize { get; }

    /// <summary>Leaves in the tree: the base and the range so far.</summary>
    public long Size => BaseSize + _leaves.Count;

    /// <summary>Appends the next leaf of the range.</summary>
    public void Append(MerkleHash leaf) => _leaves.Add(leaf);

    /// <summary>The leaf at <paramref name="index"/> (at or after the base).</summary>
    public MerkleHash GetLeaf(long index) => _leaves[checked((int)(index - BaseSize))];

    /// <summary>The root of the whole tree (the base and every leaf appended).</summary>
    public MerkleHash Root => Size == 0 ? MerkleHasher.EmptyRoot : Hash(0, Size);

    /// <summary>The RFC 9162 inclusion proof of leaf <paramref name="index"/> (in the range) in the whole tree.</summary>
    public InclusionProof GetInclusionProof(long index)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(index, BaseSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Size);
        var path = ImmutableArray.CreateBuilder<MerkleHash>();
        long start = 0, m = index, n = Size;
        while (n > 1)
        {
            var k = 1L << BitOperations.Log2((ulong)(n - 1));
            if (m < k)
            {
                path.Add(Hash(start + k, n - k));
                n = k;
            }
            else
            {
                path.Add(Hash(start, k));
                start += k;
                m -= k;
                n -= k;
            }
        }

        path.Reverse();
        return new InclusionProof { LeafIndex = index, TreeSize = Size, Path = path.ToImmutable() };
    }

    // MTH of leaves [start, start + count), reading frontier subtrees for the base.
    private MerkleHash Hash(long start, long count)
    {
        if (_base.TryGetValue((start, count), out var known))
        {
            return known;
        }

        if (start + count <= BaseSize)
        {
            throw new InvalidOperationException($"Leaves {start}..{start + count - 1} lie inside a frontier subtree of the archive's base.");
        }

        if (count == 1)
        {
            return _leaves[checked((int)(start - BaseSize))];
        }

        var k = 1L << BitOperations.Log2((ulong)(count - 1));
        return MerkleHasher.HashChildren(Hash(start, k), Hash(start + k, count - k));
    }
}
