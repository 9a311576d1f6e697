using Nv.Audit.Merkle;

namespace Nv.Unit.Tests.Audit.Merkle;

/// <summary>Seeded-random checks against <see cref="NaiveMerkle"/>; set NV_TEST_SEED to replay a failure.</summary>
public sealed class MerkleTreePropertyTests
{
    private const int MaxSize = 2000;
    private const int Trees = 8;

    [Fact]
    public void Every_inclusion_proof_verifies_against_the_naive_root() => TestSeed.Run(random =>
    {
        for (var t = 0; t < Trees; t++)
        {
            var (tree, leaves) = RandomTree(random, random.Next(1, MaxSize + 1));
            var size = leaves.Count;
            var root = MerkleHash.FromBytes(NaiveMerkle.Root(leaves));
            Assert.Equal(root, tree.Root);

            for (var i = 0; i < size; i++)
            {
                var proof = tree.GetInclusionProof(i);
                Assert.True(proof.Verify(MerkleHash.FromBytes(leaves[i]), root), $"leaf {i} of {size}");
            }

            // Proofs at earlier sizes, compared hash by hash with the naive PATH.
            for (var probe = 0; probe < 20; probe++)
            {
                var n = random.Next(1, size + 1);
                var m = random.Next(n);
                var proof = tree.GetInclusionProof(m, n);
                Assert.Equal(NaiveMerkle.Path(leaves, m, n).Select(Convert.ToHexStringLower), proof.Path.Select(h => h.ToHex()));
                var rootN = MerkleHash.FromBytes(NaiveMerkle.Root(leaves.Take(n).ToList()));
                Assert.True(proof.Verify(MerkleHash.FromBytes(leaves[m]), rootN), $"leaf {m} of {n}");
            }
        }
    });

    [Fact]
    public void Every_consistency_proof_between_random_sizes_verifies() => TestSeed.Run(random =>
    {
        for (var t = 0; t < Trees; t++)
        {
            var (tree, leaves) = RandomTree(random, random.Next(1, MaxSize + 1));
            var size = leaves.Count;
            for (var probe = 0; probe < 60; probe++)
            {
                var size2 = random.Next(0, size + 1);
                var size1 = random.Next(0, size2 + 1);
                var proof = tree.GetConsistencyProof(size1, size2);
                var root1 = MerkleHash.FromBytes(NaiveMerkle.Root(leaves.Take(size1).ToList()));
                var root2 = MerkleHash.FromBytes(NaiveMerkle.Root(leaves.Take(size2).ToList()));
                Assert.True(proof.Verify(root1, root2), $"{size1} -> {size2}");
                if (probe < 10)
                {
                    Assert.Equal(NaiveMerkle.Proof(leaves, size1, size2).Select(Convert.ToHexStringLower), proof.Path.Select(h => h.ToHex()));
                }
            }
        }
    });

    [Fact]
    public void Inclusion_proofs_fail_for_a_wrong_root_index_size_or_any_flipped_bit() => TestSeed.Run(random =>
    {
        for (var t = 0; t < Trees; t++)
        {
            var (tree, leaves) = RandomTree(random, random.Next(2, MaxSize + 1));
            var size = leaves.Count;
            var root = tree.Root;
            for (var probe = 0; probe < 25; probe++)
            {
                var index = random.Next(size);
                var leaf = MerkleHash.FromBytes(leaves[index]);
                var path = tree.GetInclusionProof(index).Path.ToArray();
                Assert.True(MerkleProofVerifier.VerifyInclusion(leaf, index, size, path, root));

                var otherIndex = (index + 1 + random.Next(size - 1)) % size;
                Assert.False(MerkleProofVerifier.VerifyInclusion(leaf, otherIndex, size, path, root), $"index {otherIndex} for {index}/{size}");
                Assert.False(MerkleProofVerifier.VerifyInclusion(MerkleHash.FromBytes(leaves[otherIndex]), index, size, path, root));
                Assert.False(MerkleProofVerifier.VerifyInclusion(leaf, index, size, path, tree.RootAt(random.Next(size))));

                // Sizes whose trees give this leaf a different path length. (Some other sizes legitimately share the
                // leaf's path shape, e.g. leaf 0 in sizes 5 and 6; the signed checkpoint binds the size, not the proof.)
                Assert.False(MerkleProofVerifier.VerifyInclusion(leaf, index, size * 2, path, root));
                if (size % 2 == 0 && index < size / 2)
                {
                    Assert.False(MerkleProofVerifier.VerifyInclusion(leaf, index, size / 2, path, root));
                }

                for (var i = 0; i < path.Length; i++)
                {
                    var flipped = ProofMutations.FlipBit(path, i, random.Next(MerkleHash.Size * 8));
                    Assert.False(MerkleProofVerifier.VerifyInclusion(leaf, index, size, flipped, root), $"flip in element {i}");
                }
            }
        }
    });

    [Fact]
    public void Consistency_proofs_fail_for_a_wrong_root_size_or_any_flipped_bit() => TestSeed.Run(random =>
    {
        for (var t = 0; t < Trees; t++)
        {
            var (tree, leaves) = RandomTree(random, random.Next(3, MaxSize + 1));
            var size = leaves.Count;
            for (var probe = 0; probe < 25; probe++)
            {
                var size2 = random.Next(2, size + 1);
                var size1 = random.Next(1, size2);
                var root1 = tree.RootAt(size1);
                var root2 = tree.RootAt(size2);
                var path = tree.GetConsistencyProof(size1, size2).Path.ToArray();
                Assert.True(MerkleProofVerifier.VerifyConsistency(size1, size2, root1, root2, path));

                var wrongOld = tree.RootAt(size1 == 1 ? 2 : size1 - 1);
                Assert.False(MerkleProofVerifier.VerifyConsistency(size1, size2, wrongOld, root2, path));
                Assert.False(MerkleProofVerifier.VerifyConsistency(size1, size2, root1, tree.RootAt(size2 - 1), path));
                Assert.False(MerkleProofVerifier.VerifyConsistency(size1, size2 * 2, root1, root2, path));
                var otherSize1 = 1 + ((size1 + random.Next(size2 - 2 + 1)) % (size2 - 1));
                if (otherSize1 != size1)
                {
                    Assert.False(MerkleProofVerifier.VerifyConsistency(otherSize1, size2, root1, root2, path), $"{otherSize1} for {size1}");
                }

                for (var i = 0; i < path.Length; i++)
                {
                    var flipped = ProofMutations.FlipBit(path, i, random.Next(MerkleHash.Size * 8));
                    Assert.False(MerkleProofVerifier.VerifyConsistency(size1, size2, root1, root2, flipped), $"flip in element {i}");
                }
            }
        }
    });

    [Fact]
    public void Roots_at_every_earlier_size_equal_the_naive_roots() => TestSeed.Run(random =>
    {
        var (tree, leaves) = RandomTree(random, random.Next(MaxSize / 2, MaxSize + 1));
        for (var probe = 0; probe < 100; probe++)
        {
            var n = random.Next(leaves.Count + 1);
            Assert.Equal(Convert.ToHexStringLower(NaiveMerkle.Root(leaves.Take(n).ToList())), tree.RootAt(n).ToHex());
        }
    });

    private static (MerkleTree Tree, List<byte[]> Leaves) RandomTree(Random random, int size)
    {
        var tree = new MerkleTree();
        var leaves = new List<byte[]>(size);
        for (var i = 0; i < size; i++)
        {
            var data = new byte[random.Next(0, 40)];
            random.NextBytes(data);
            leaves.Add(NaiveMerkle.LeafHash(data));
            tree.AppendData(data);
        }

        return (tree, leaves);
    }
}
