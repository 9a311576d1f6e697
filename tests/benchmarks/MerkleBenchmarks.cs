using BenchmarkDotNet.Attributes;
using Nv.Audit.Merkle;

namespace Nv.Benchmarks;

/// <summary>The audit Merkle tree at 1,000,000 leaves: append, proof generation and proof verification.</summary>
[MemoryDiagnoser]
public class MerkleBenchmarks
{
    private const int Leaves = 1_000_000;
    private const int AppendBatch = 100_000;

    private MerkleTree _tree = null!;
    private MerkleHash[] _appendHashes = null!;
    private MerkleHash _root;
    private InclusionProof _inclusion = null!;
    private MerkleHash _inclusionLeaf;
    private ConsistencyProof _consistency = null!;
    private MerkleHash _oldRoot;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _tree = new MerkleTree();
        for (var i = 0; i < Leaves; i++)
        {
            _tree.AppendData(BitConverter.GetBytes(i));
        }

        _appendHashes = new MerkleHash[AppendBatch];
        for (var i = 0; i < AppendBatch; i++)
        {
            _appendHashes[i] = MerkleHasher.HashLeaf(BitConverter.GetBytes(-i));
        }

        _root = _tree.Root;
        _inclusionLeaf = _tree.GetLeaf(123_457);
        _inclusion = _tree.GetInclusionProof(123_457);
        _oldRoot = _tree.RootAt(654_321);
        _consistency = _tree.GetConsistencyProof(654_321, Leaves);
    }

    /// <summary>Appending precomputed leaf hashes to a fresh tree (per-leaf cost; includes the in-memory leaf store).</summary>
    [Benchmark(OperationsPerInvoke = AppendBatch)]
    public MerkleHash Append()
    {
        var tree = new MerkleTree();
        foreach (var hash in _appendHashes)
        {
            tree.Append(hash);
        }

        return tree.Root;
    }

    [Benchmark]
    public MerkleHash Root() => _tree.Root;

    [Benchmark]
    public MerkleHash RootAtEarlierSize() => _tree.RootAt(777_777);

    [Benchmark]
    public InclusionProof InclusionProofGenerate()
    {
        // Walk through the leaves so the proof is not always for the same cache-hot path.
        _next = (_next + 7_919) % Leaves;
        return _tree.GetInclusionProof(_next);
    }

    [Benchmark]
    public bool InclusionProofVerify() => _inclusion.Verify(_inclusionLeaf, _root);

    [Benchmark]
    public ConsistencyProof ConsistencyProofGenerate()
    {
        _next = (_next + 7_919) % Leaves;
        return _tree.GetConsistencyProof(_next + 1, Leaves);
    }

    [Benchmark]
    public bool ConsistencyProofVerify() => _consistency.Verify(_oldRoot, _root);
}
