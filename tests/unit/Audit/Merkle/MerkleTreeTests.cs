using Nv.Audit.Merkle;

namespace Nv.Unit.Tests.Audit.Merkle;

public sealed class MerkleTreeTests
{
    [Fact]
    public void Incremental_root_equals_the_naive_root_after_each_append()
    {
        var tree = new MerkleTree();
        var leaves = new List<byte[]>();
        for (var i = 0; i < 300; i++)
        {
            var data = BitConverter.GetBytes(i * 7919);
            leaves.Add(NaiveMerkle.LeafHash(data));
            Assert.Equal(i, tree.AppendData(data));
            Assert.Equal(Convert.ToHexStringLower(NaiveMerkle.Root(leaves)), tree.Root.ToHex());
            Assert.Equal(new MerkleTreeHead(i + 1, tree.Root), tree.Head);
        }
    }

    [Fact]
    public void A_tree_rebuilt_from_its_leaf_store_has_the_same_roots_and_proofs()
    {
        var store = new InMemoryMerkleLeafStore();
        var original = new MerkleTree(store);
        for (var i = 0; i < 1000; i++)
        {
            original.AppendData(BitConverter.GetBytes(i));
        }

        var rebuilt = new MerkleTree(store);
        Assert.Equal(original.Head, rebuilt.Head);
        Assert.Equal(original.RootAt(517), rebuilt.RootAt(517));
        Assert.Equal(original.GetInclusionProof(333).Path, rebuilt.GetInclusionProof(333).Path);
        Assert.Equal(original.GetConsistencyProof(100, 999).Path, rebuilt.GetConsistencyProof(100, 999).Path);

        // Both share the store, so append through one only; the other stays at its old size.
        rebuilt.AppendData("more"u8);
        Assert.Equal(1001, store.Count);
        Assert.Equal(original.Root, rebuilt.RootAt(1000));
    }

    [Fact]
    public void Leaves_are_read_back_by_index()
    {
        var tree = new MerkleTree();
        tree.AppendData("a"u8);
        tree.Append(MerkleHasher.HashLeaf("b"u8));
        Assert.Equal(MerkleHasher.HashLeaf("a"u8), tree.GetLeaf(0));
        Assert.Equal(MerkleHasher.HashLeaf("b"u8), tree.GetLeaf(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => tree.GetLeaf(2));
    }

    [Fact]
    public void Out_of_range_arguments_throw()
    {
        var tree = new MerkleTree();
        for (var i = 0; i < 10; i++)
        {
            tree.AppendData(BitConverter.GetBytes(i));
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => tree.RootAt(11));
        Assert.Throws<ArgumentOutOfRangeException>(() => tree.RootAt(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => tree.GetInclusionProof(10));
        Assert.Throws<ArgumentOutOfRangeException>(() => tree.GetInclusionProof(5, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => tree.GetInclusionProof(0, 11));
        Assert.Throws<ArgumentOutOfRangeException>(() => tree.GetInclusionProof(-1, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => tree.GetConsistencyProof(5, 11));
        Assert.Throws<ArgumentOutOfRangeException>(() => tree.GetConsistencyProof(6, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MerkleTree().GetInclusionProof(0));
    }

    [Fact]
    public void Trivial_consistency_proofs_are_empty()
    {
        var tree = new MerkleTree();
        tree.AppendData("x"u8);
        tree.AppendData("y"u8);
        Assert.Empty(tree.GetConsistencyProof(0, 2).Path);
        Assert.Empty(tree.GetConsistencyProof(2, 2).Path);
        Assert.True(tree.GetConsistencyProof(0, 2).Verify(MerkleHasher.EmptyRoot, tree.Root));
    }

    [Fact]
    public void Proofs_in_a_large_tree_use_the_subtree_cache_and_verify()
    {
        // 2^16 + 12345 leaves: deep enough that cached levels and uncached low levels both contribute.
        var tree = new MerkleTree();
        const int Size = (1 << 16) + 12345;
        for (var i = 0; i < Size; i++)
        {
            tree.AppendData(BitConverter.GetBytes(i));
        }

        var root = tree.Root;
        foreach (var index in new long[] { 0, 1, 77_777, 1 << 16, Size - 2, Size - 1 })
        {
            Assert.True(tree.GetInclusionProof(index).Verify(tree.GetLeaf(index), root));
        }

        foreach (var old in new long[] { 1, 16, 1000, 1 << 16, Size - 1 })
        {
            Assert.True(tree.GetConsistencyProof(old, Size).Verify(tree.RootAt(old), root));
        }
    }

    [Fact]
    public void A_failing_store_leaves_the_tree_unchanged()
    {
        var tree = new MerkleTree(new FailingStore());
        Assert.Throws<IOException>(() => tree.AppendData("x"u8));
        Assert.Equal(0, tree.Size);
        Assert.Equal(MerkleHasher.EmptyRoot, tree.Root);
    }

    [Fact]
    public void Hashes_round_trip_through_hex_base64_and_bytes()
    {
        var hash = MerkleHasher.HashLeaf("nv"u8);
        Assert.Equal(hash, MerkleHash.FromHex(hash.ToHex()));
        Assert.Equal(hash, MerkleHash.FromHex(hash.ToHex().ToUpperInvariant()));
        Assert.Equal(hash, MerkleHash.FromBase64(hash.ToBase64()));
        Assert.Equal(hash, MerkleHash.FromBytes(hash.ToArray()));
        Assert.NotEqual(hash, MerkleHasher.HashLeaf("nw"u8));
        Assert.Throws<ArgumentException>(() => MerkleHash.FromBytes(new byte[31]));
        Assert.Throws<FormatException>(() => MerkleHash.FromHex("abcd"));
        Assert.Throws<FormatException>(() => MerkleHash.FromBase64(Convert.ToBase64String(new byte[33])));
    }

    [Fact]
    public void Large_leaf_data_is_hashed_with_the_leaf_prefix()
    {
        var data = new byte[5000];
        new Random(1).NextBytes(data);
        Assert.Equal(Convert.ToHexStringLower(NaiveMerkle.LeafHash(data)), MerkleHasher.HashLeaf(data).ToHex());
    }

    private sealed class FailingStore : IMerkleLeafStore
    {
        public long Count => 0;

        public MerkleHash GetLeafHash(long index) => throw new ArgumentOutOfRangeException(nameof(index));

        public void Append(MerkleHash leafHash) => throw new IOException("disk full");
    }
}
