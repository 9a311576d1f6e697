using Nv.Audit.Merkle;

namespace Nv.Unit.Tests.Audit.Merkle;

/// <summary>
/// Known-answer tests. The leaves, roots, node hashes and proofs are the RFC 6962 reference vectors used by
/// github.com/transparency-dev/merkle (testonly/constants.go and proof/verify_test.go; the same values appear in
/// certificate-transparency-go and the original C++ CT log's merkle_tree_test.cc). The Go vectors number leaves
/// from 1; here indices are 0-based.
/// </summary>
public sealed class ReferenceVectorTests
{
    private static readonly string[] LeafInputsHex =
        ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];

    // RootHashes()[n] for n = 0..8.
    private static readonly string[] Roots =
    [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    // NodeHashes()[0]: the leaf hashes.
    private static readonly string[] LeafHashes =
    [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ];

    public static TheoryData<long, long, string[]> InclusionVectors => new()
    {
        { 0, 1, [] },
        { 0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                 "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                 "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"] },
        { 5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                 "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                 "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"] },
        { 2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"] },
        { 1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                 "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                 "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"] },
    };

    public static TheoryData<long, long, string[]> ConsistencyVectors => new()
    {
        { 1, 1, [] },
        { 1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                 "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                 "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"] },
        { 6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                 "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                 "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"] },
        { 2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                 "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"] },
        { 6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                 "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                 "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"] },
    };

    [Fact]
    public void Empty_tree_root_is_sha256_of_nothing()
    {
        Assert.Equal(Roots[0], MerkleHasher.EmptyRoot.ToHex());
        Assert.Equal(Roots[0], new MerkleTree().Root.ToHex());
    }

    [Fact]
    public void Leaf_hashes_match_the_reference()
    {
        for (var i = 0; i < LeafInputsHex.Length; i++)
        {
            Assert.Equal(LeafHashes[i], MerkleHasher.HashLeaf(Convert.FromHexString(LeafInputsHex[i])).ToHex());
        }
    }

    [Fact]
    public void Roots_of_sizes_1_to_8_match_the_reference_while_appending_and_afterwards()
    {
        var tree = BuildTree();
        for (var n = 0; n <= 8; n++)
        {
            Assert.Equal(Roots[n], tree.RootAt(n).ToHex());
        }

        var incremental = new MerkleTree();
        foreach (var hex in LeafInputsHex)
        {
            incremental.AppendData(Convert.FromHexString(hex));
            Assert.Equal(Roots[incremental.Size], incremental.Root.ToHex());
        }
    }

    [Fact]
    public void Interior_node_hashes_match_the_reference()
    {
        // NodeHashes()[1][1] = MTH(D[2:4]) and [2][1] = MTH(D[4:8]), reached as the siblings in proofs of leaf 0.
        var proof = BuildTree().GetInclusionProof(0, 8);
        Assert.Equal("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", proof.Path[1].ToHex());
        Assert.Equal("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4", proof.Path[2].ToHex());
    }

    [Theory]
    [MemberData(nameof(InclusionVectors))]
    public void Inclusion_proofs_match_and_verify(long index, long size, string[] expected)
    {
        var proof = BuildTree().GetInclusionProof(index, size);
        Assert.Equal(expected, proof.Path.Select(h => h.ToHex()));

        var leaf = MerkleHash.FromHex(LeafHashes[index]);
        var root = MerkleHash.FromHex(Roots[size]);
        var path = expected.Select(MerkleHash.FromHex).ToArray();
        Assert.True(MerkleProofVerifier.VerifyInclusion(leaf, index, size, path, root));
        Assert.True(proof.Verify(leaf, root));

        // The corruptions of the reference suite's corruptInclusionProof.
        Assert.False(MerkleProofVerifier.VerifyInclusion(leaf, index - 1, size, path, root));
        Assert.False(MerkleProofVerifier.VerifyInclusion(leaf, index + 1, size, path, root));
        Assert.False(MerkleProofVerifier.VerifyInclusion(leaf, index ^ 2, size, path, root));
        Assert.False(MerkleProofVerifier.VerifyInclusion(leaf, index, size * 2, path, root));
        Assert.False(MerkleProofVerifier.VerifyInclusion(leaf, index, size / 2, path, root));
        Assert.False(MerkleProofVerifier.VerifyInclusion(MerkleHasher.HashLeaf("WrongLeaf"u8), index, size, path, root));
        Assert.False(MerkleProofVerifier.VerifyInclusion(leaf, index, size, path, MerkleHasher.EmptyRoot));
        Assert.False(MerkleProofVerifier.VerifyInclusion(leaf, index, size, [.. path, root], root));
        Assert.False(MerkleProofVerifier.VerifyInclusion(leaf, index, size, [root, .. path], root));
        if (path.Length > 0)
        {
            Assert.False(MerkleProofVerifier.VerifyInclusion(leaf, index, size, path.AsSpan()[..^1], root));
        }

        for (var i = 0; i < path.Length; i++)
        {
            Assert.False(MerkleProofVerifier.VerifyInclusion(leaf, index, size, ProofMutations.FlipBit(path, i, 3), root));
        }
    }

    [Theory]
    [MemberData(nameof(ConsistencyVectors))]
    public void Consistency_proofs_match_and_verify(long size1, long size2, string[] expected)
    {
        var proof = BuildTree().GetConsistencyProof(size1, size2);
        Assert.Equal(expected, proof.Path.Select(h => h.ToHex()));

        var root1 = MerkleHash.FromHex(Roots[size1]);
        var root2 = MerkleHash.FromHex(Roots[size2]);
        var path = expected.Select(MerkleHash.FromHex).ToArray();
        Assert.True(MerkleProofVerifier.VerifyConsistency(size1, size2, root1, root2, path));
        Assert.True(proof.Verify(root1, root2));
        if (path.Length == 0)
        {
            return;
        }

        // The corruptions of the reference suite's corruptConsistencyProof.
        Assert.False(MerkleProofVerifier.VerifyConsistency(size1 - 1, size2, root1, root2, path));
        Assert.False(MerkleProofVerifier.VerifyConsistency(size1 + 1, size2, root1, root2, path));
        Assert.False(MerkleProofVerifier.VerifyConsistency(size1 ^ 2, size2, root1, root2, path));
        Assert.False(MerkleProofVerifier.VerifyConsistency(size1, size2 * 2, root1, root2, path));
        Assert.False(MerkleProofVerifier.VerifyConsistency(size1, size2 / 2, root1, root2, path));
        Assert.False(MerkleProofVerifier.VerifyConsistency(size1, size2, MerkleHasher.EmptyRoot, root2, path));
        Assert.False(MerkleProofVerifier.VerifyConsistency(size1, size2, root1, MerkleHasher.EmptyRoot, path));
        Assert.False(MerkleProofVerifier.VerifyConsistency(size1, size2, root2, root1, path));
        Assert.False(MerkleProofVerifier.VerifyConsistency(size1, size2, root1, root2, []));
        Assert.False(MerkleProofVerifier.VerifyConsistency(size1, size2, root1, root2, [.. path, root1]));
        Assert.False(MerkleProofVerifier.VerifyConsistency(size1, size2, root1, root2, [.. path, root2]));
        Assert.False(MerkleProofVerifier.VerifyConsistency(size1, size2, root1, root2, [root1, .. path]));
        Assert.False(MerkleProofVerifier.VerifyConsistency(size1, size2, root1, root2, [root2, .. path]));
        Assert.False(MerkleProofVerifier.VerifyConsistency(size1, size2, root1, root2, [path[0], .. path]));
        Assert.False(MerkleProofVerifier.VerifyConsistency(size1, size2, root1, root2, path.AsSpan()[..^1]));
        for (var i = 0; i < path.Length; i++)
        {
            Assert.False(MerkleProofVerifier.VerifyConsistency(size1, size2, root1, root2, ProofMutations.FlipBit(path, i, 4)));
        }
    }

    [Fact]
    public void Trivial_consistency_cases_follow_the_reference_rules()
    {
        var a = MerkleHash.FromHex(Roots[1]);
        var b = MerkleHash.FromHex(Roots[2]);
        Assert.True(MerkleProofVerifier.VerifyConsistency(0, 0, MerkleHasher.EmptyRoot, MerkleHasher.EmptyRoot, []));
        Assert.True(MerkleProofVerifier.VerifyConsistency(1, 1, a, a, []));
        Assert.True(MerkleProofVerifier.VerifyConsistency(0, 2, MerkleHasher.EmptyRoot, b, []));
        Assert.False(MerkleProofVerifier.VerifyConsistency(1, 1, a, b, []));
        Assert.False(MerkleProofVerifier.VerifyConsistency(1, 1, a, a, [a]));
        Assert.False(MerkleProofVerifier.VerifyConsistency(0, 2, MerkleHasher.EmptyRoot, b, [a]));
        Assert.False(MerkleProofVerifier.VerifyConsistency(0, 2, a, b, []));
        Assert.False(MerkleProofVerifier.VerifyConsistency(2, 1, b, a, []));
        Assert.False(MerkleProofVerifier.VerifyConsistency(1, 2, a, b, []));
        Assert.False(MerkleProofVerifier.VerifyConsistency(-1, 2, a, b, [a]));
    }

    [Fact]
    public void Invalid_inclusion_coordinates_never_verify()
    {
        var some = MerkleHasher.HashLeaf("x"u8);
        foreach (var (index, size) in new (long, long)[] { (0, 0), (1, 0), (2, 1), (-1, 4), (4, 4) })
        {
            Assert.False(MerkleProofVerifier.VerifyInclusion(some, index, size, [], some));
            Assert.False(MerkleProofVerifier.VerifyInclusion(some, index, size, [], MerkleHasher.EmptyRoot));
        }

        // A one-leaf tree: the root is the leaf hash and the proof is empty.
        Assert.True(MerkleProofVerifier.VerifyInclusion(some, 0, 1, [], some));
        Assert.False(MerkleProofVerifier.VerifyInclusion(some, 0, 1, [some], some));
    }

    private static MerkleTree BuildTree()
    {
        var tree = new MerkleTree();
        foreach (var hex in LeafInputsHex)
        {
            tree.AppendData(Convert.FromHexString(hex));
        }

        return tree;
    }
}
