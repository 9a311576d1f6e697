using System.Collections.Immutable;

namespace Nv.Audit.Merkle;

public sealed partial class MerkleTree
{
    /// <summary>Builds the RFC 9162 §2.1.3.1 inclusion proof of leaf <paramref name="leafIndex"/> in the current tree.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The index is not below <see cref="Size"/>.</exception>
    public InclusionProof GetInclusionProof(long leafIndex)
    {
        lock (_gate)
        {
            return BuildInclusionProof(leafIndex, _size);
        }
    }

    /// <summary>Builds the inclusion proof of leaf <paramref name="leafIndex"/> in the tree of size <paramref name="treeSize"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">
    /// The size exceeds <see cref="Size"/>, or the index is not below the size.
    /// </exception>
    public InclusionProof GetInclusionProof(long leafIndex, long treeSize)
    {
        lock (_gate)
        {
            return BuildInclusionProof(leafIndex, treeSize);
        }
    }

    /// <summary>
    /// Builds the RFC 9162 §2.1.4.1 consistency proof that the tree of size <paramref name="fromSize"/> is a prefix of
    /// the tree of size <paramref name="toSize"/>.
    /// </summary>
    /// <remarks>The proof is empty when <paramref name="fromSize"/> is 0 or equals <paramref name="toSize"/>.</remarks>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <paramref name="toSize"/> exceeds <see cref="Size"/>, or <paramref name="fromSize"/> is negative or above it.
    /// </exception>
    public ConsistencyProof GetConsistencyProof(long fromSize, long toSize)
    {
        lock (_gate)
        {
            CheckRange(toSize, 0, _size, nameof(toSize));
            CheckRange(fromSize, 0, toSize, nameof(fromSize));
            var path = ImmutableArray.CreateBuilder<MerkleHash>();
            if (fromSize > 0 && fromSize < toSize)
            {
                // Iterative form of SUBPROOF(m, D[start:start+n], b), collected root-first and reversed at the end
                // so the path runs from the bottom of the tree up, as the verifier consumes it.
                long start = 0, m = fromSize, n = toSize;
                var wholeOldTreeIsKnown = true;
                while (m != n)
                {
                    var k = LargestPowerOfTwoBelow(n);
                    if (m <= k)
                    {
                        path.Add(RangeHash(start + k, n - k));
                        n = k;
                    }
                    else
                    {
                        path.Add(RangeHash(start, k));
                        start += k;
                        m -= k;
                        n -= k;
                        wholeOldTreeIsKnown = false;
                    }
                }

                // When the old tree is itself a complete subtree on the path the verifier already holds it (root1).
                if (!wholeOldTreeIsKnown)
                {
                    path.Add(RangeHash(start, m));
                }

                path.Reverse();
            }

            return new ConsistencyProof { FromSize = fromSize, ToSize = toSize, Path = path.ToImmutable() };
        }
    }

    /// <summary>The hashes of the complete subtrees that make up the first <paramref name="size"/> leaves, largest (leftmost)
    /// first: one per set bit of <paramref name="size"/>. With them and the leaves from <paramref name="size"/> on, the root
    /// of any larger tree and the inclusion proof of any later leaf can be computed (an archive of a range carries them).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The size is negative or larger than <see cref="Size"/>.</exception>
    internal IReadOnlyList<MerkleHash> GetFrontier(long size)
    {
        lock (_gate)
        {
            CheckRange(size, 0, _size, nameof(size));
            var frontier = new List<MerkleHash>();
            long start = 0;
            for (var level = 62; level >= 0; level--)
            {
                if (((size >> level) & 1) == 1)
                {
                    frontier.Add(SubtreeHash(level, start >> level));
                    start += 1L << level;
                }
            }

            return frontier;
        }
    }

    private InclusionProof BuildInclusionProof(long leafIndex, long treeSize)
    {
        CheckRange(treeSize, 1, _size, nameof(treeSize));
        CheckRange(leafIndex, 0, treeSize - 1, nameof(leafIndex));

        // Iterative form of PATH(m, D[start:start+n]): at each level record the sibling subtree, then descend.
        var path = ImmutableArray.CreateBuilder<MerkleHash>();
        long start = 0, m = leafIndex, n = treeSize;
        while (n > 1)
        {
            var k = LargestPowerOfTwoBelow(n);
            if (m < k)
            {
                path.Add(RangeHash(start + k, n - k));
                n = k;
            }
            else
            {
                path.Add(RangeHash(start, k));
                start += k;
                m -= k;
                n -= k;
            }
        }

        path.Reverse();
        return new InclusionProof { LeafIndex = leafIndex, TreeSize = treeSize, Path = path.ToImmutable() };
    }
}
