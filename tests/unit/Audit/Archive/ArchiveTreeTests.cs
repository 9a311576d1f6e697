using Nv.Audit.Archive;
using Nv.Audit.Merkle;

namespace Nv.Unit.Tests.Audit.Archive;

/// <summary>An archive's view of its chain's tree (the frontier of the leaves before the range, then the range's leaves)
/// gives exactly the full tree's root and inclusion proofs, for every base size and range length tried.</summary>
public sealed class ArchiveTreeTests
{
    private static MerkleHash Leaf(int i) => MerkleHasher.HashLeaf(BitConverter.GetBytes(i));

    [Fact]
    public void Roots_and_proofs_equal_the_full_trees_for_every_split()
    {
        for (var total = 1; total <= 70; total++)
        {
            var full = new MerkleTree();
            for (var i = 0; i < total; i++)
            {
                full.Append(Leaf(i));
            }

            for (var baseSize = 0; baseSize < total; baseSize++)
            {
                var tree = new ArchiveTree(baseSize, full.GetFrontier(baseSize));
                for (var i = baseSize; i < total; i++)
                {
                    tree.Append(Leaf(i));
                }

                Assert.True(full.Root == tree.Root, $"root of {total} from base {baseSize}");
                for (var i = baseSize; i < total; i++)
                {
                    var proof = tree.GetInclusionProof(i);
                    Assert.True(proof.Path.SequenceEqual(full.GetInclusionProof(i, total).Path), $"proof of {i} in {total} from base {baseSize}");
                    Assert.True(proof.Verify(Leaf(i), full.Root));
                }
            }
        }
    }

    [Fact]
    public void A_frontier_of_the_wrong_length_is_refused()
    {
        var full = new MerkleTree();
        for (var i = 0; i < 6; i++)
        {
            full.Append(Leaf(i));
        }

        Assert.Throws<FormatException>(() => new ArchiveTree(7, full.GetFrontier(6)));
        Assert.Equal(2, full.GetFrontier(6).Count); // 6 = 4 + 2
        Assert.Empty(full.GetFrontier(0));
    }
}
