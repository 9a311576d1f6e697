namespace Nv.Audit.Merkle;

/// <summary>The RFC 9162 proof verification algorithms (§2.1.3.2 and §2.1.4.2), as pure functions of hashes and sizes.</summary>
/// <remarks>
/// Nothing here touches a tree or a store: an offline auditor holding only a signed root, a leaf hash and a proof
/// can run the same steps (see docs/audit-merkle.md). Every method returns <c>false</c> for malformed input
/// (negative sizes, an index outside the tree, a path that is too short or too long) rather than throwing.
/// All members are thread-safe.
/// </remarks>
public static class MerkleProofVerifier
{
    /// <summary>Whether <paramref name="proof"/> shows <paramref name="leafHash"/> at <paramref name="leafIndex"/> in the tree of <paramref name="treeSize"/> leaves with root <paramref name="root"/>.</summary>
    public static bool VerifyInclusion(MerkleHash leafHash, long leafIndex, long treeSize, ReadOnlySpan<MerkleHash> proof, MerkleHash root) =>
        TryComputeInclusionRoot(leafHash, leafIndex, treeSize, proof, out var computed) && computed == root;

    /// <summary>Runs RFC 9162 §2.1.3.2 and returns the root the proof implies, or <c>false</c> if the proof is malformed for the index and size.</summary>
    public static bool TryComputeInclusionRoot(MerkleHash leafHash, long leafIndex, long treeSize, ReadOnlySpan<MerkleHash> proof, out MerkleHash root)
    {
        root = default;
        if (leafIndex < 0 || treeSize <= 0 || leafIndex >= treeSize)
        {
            return false;
        }

        var fn = (ulong)leafIndex;
        var sn = (ulong)(treeSize - 1);
        var r = leafHash;
        foreach (var p in proof)
        {
            if (sn == 0)
            {
                return false; // Path longer than the tree is tall.
            }

            if ((fn & 1) == 1 || fn == sn)
            {
                // We are a right child, or the rightmost node of a level with no right sibling at this height.
                r = MerkleHasher.HashChildren(p, r);
                if ((fn & 1) == 0)
                {
                    while ((fn & 1) == 0 && fn != 0)
                    {
                        fn >>= 1;
                        sn >>= 1;
                    }
                }
            }
            else
            {
                r = MerkleHasher.HashChildren(r, p);
            }

            fn >>= 1;
            sn >>= 1;
        }

        if (sn != 0)
        {
            return false; // Path shorter than the tree is tall.
        }

        root = r;
        return true;
    }

    /// <summary>
    /// Whether <paramref name="proof"/> shows the tree of <paramref name="fromSize"/> leaves with root <paramref name="fromRoot"/>
    /// is a prefix of the tree of <paramref name="toSize"/> leaves with root <paramref name="toRoot"/>.
    /// </summary>
    /// <remarks>
    /// Trivial cases need an empty proof: equal sizes must have equal roots, and size 0 must carry the empty-tree root
    /// (stricter than some implementations, which accept any root for size 0).
    /// </remarks>
    public static bool VerifyConsistency(long fromSize, long toSize, MerkleHash fromRoot, MerkleHash toRoot, ReadOnlySpan<MerkleHash> proof)
    {
        if (fromSize < 0 || toSize < fromSize)
        {
            return false;
        }

        if (fromSize == toSize)
        {
            return proof.IsEmpty && fromRoot == toRoot;
        }

        if (fromSize == 0)
        {
            return proof.IsEmpty && fromRoot == MerkleHasher.EmptyRoot;
        }

        // Step 1.
        if (proof.IsEmpty)
        {
            return false;
        }

        // Step 2: when the old tree is a complete subtree its root is the first path element; instead of copying
        // the path to prepend it, start from fromRoot and consume the whole path.
        var first = (fromSize & (fromSize - 1)) == 0;
        var seed = first ? fromRoot : proof[0];
        var rest = first ? proof : proof[1..];

        // Steps 3 and 4.
        var fn = (ulong)(fromSize - 1);
        var sn = (ulong)(toSize - 1);
        while ((fn & 1) == 1)
        {
            fn >>= 1;
            sn >>= 1;
        }

        // Step 5.
        var fr = seed;
        var sr = seed;

        // Step 6.
        foreach (var c in rest)
        {
            if (sn == 0)
            {
                return false;
            }

            if ((fn & 1) == 1 || fn == sn)
            {
                fr = MerkleHasher.HashChildren(c, fr);
                sr = MerkleHasher.HashChildren(c, sr);
                if ((fn & 1) == 0)
                {
                    while ((fn & 1) == 0 && fn != 0)
                    {
                        fn >>= 1;
                        sn >>= 1;
                    }
                }
            }
            else
            {
                sr = MerkleHasher.HashChildren(sr, c);
            }

            fn >>= 1;
            sn >>= 1;
        }

        // Step 7.
        return sn == 0 && fr == fromRoot && sr == toRoot;
    }
}
