using System.Diagnostics;
using System.Numerics;

namespace Nv.Audit.Merkle;

/// <summary>
/// An append-only RFC 9162 Merkle tree over leaf hashes, with O(log n) append and root, roots of earlier
/// sizes, and inclusion and consistency proofs.
/// </summary>
/// <remarks>
/// <para>
/// The tree keeps its right edge (the "frontier": one complete subtree hash per set bit of the size) so that
/// an append merges at most log2(n) nodes and the current root folds at most log2(n) hashes.
/// Every complete, aligned subtree of 2^<c>CacheMinLevel</c> leaves or more that an append completes is also
/// cached in memory (about n/8 hashes, 4 MiB per million leaves), so a proof at any size needs only
/// O(log n) cache reads plus at most 2^<c>CacheMinLevel</c> leaf reads per proof node below the cached levels.
/// </para>
/// <para>
/// The leaf hashes live in an <see cref="IMerkleLeafStore"/>; the frontier and the cache are rebuilt from it
/// when the tree is constructed (O(n) hashing, about half a second per million leaves).
/// </para>
/// <para>
/// Thread safety: all members may be called from any thread; they serialize on an internal lock, so a proof
/// never observes a half-finished append. The leaf store is written before the in-memory state, so if
/// <see cref="IMerkleLeafStore.Append"/> throws the tree is unchanged.
/// </para>
/// </remarks>
public sealed partial class MerkleTree
{
    /// <summary>Lowest subtree level (2^level leaves) whose hashes are cached.</summary>
    internal const int CacheMinLevel = 4;

    private const int MaxLevels = 64;

    private readonly IMerkleLeafStore _store;
    private readonly MerkleHash[] _frontier = new MerkleHash[MaxLevels];
    private readonly HashList?[] _levels = new HashList?[MaxLevels];
    private readonly Lock _gate = new();
    private long _size;

    /// <summary>Creates an empty tree backed by an <see cref="InMemoryMerkleLeafStore"/>.</summary>
    public MerkleTree()
        : this(new InMemoryMerkleLeafStore())
    {
    }

    /// <summary>Creates a tree over the leaves already in <paramref name="store"/> and appends new leaves to it.</summary>
    /// <param name="store">The leaf store; its current contents become the tree's first leaves.</param>
    public MerkleTree(IMerkleLeafStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        var count = store.Count;
        for (long i = 0; i < count; i++)
        {
            AddToFrontier(store.GetLeafHash(i));
        }
    }

    /// <summary>Number of leaves in the tree.</summary>
    public long Size
    {
        get
        {
            lock (_gate)
            {
                return _size;
            }
        }
    }

    /// <summary>The root hash of the whole tree (<see cref="MerkleHasher.EmptyRoot"/> when empty).</summary>
    public MerkleHash Root
    {
        get
        {
            lock (_gate)
            {
                return FrontierRoot();
            }
        }
    }

    /// <summary>The current size and root, read atomically with respect to <see cref="Append"/>.</summary>
    public MerkleTreeHead Head
    {
        get
        {
            lock (_gate)
            {
                return new MerkleTreeHead(_size, FrontierRoot());
            }
        }
    }

    /// <summary>Appends a leaf hash (already computed with <see cref="MerkleHasher.HashLeaf"/>).</summary>
    /// <returns>The new leaf's index.</returns>
    public long Append(MerkleHash leafHash)
    {
        lock (_gate)
        {
            var index = _size;
            _store.Append(leafHash);
            AddToFrontier(leafHash);
            return index;
        }
    }

    /// <summary>Hashes <paramref name="leafData"/> as a leaf and appends it.</summary>
    /// <returns>The new leaf's index.</returns>
    public long AppendData(ReadOnlySpan<byte> leafData) => Append(MerkleHasher.HashLeaf(leafData));

    /// <summary>Returns the leaf hash at <paramref name="index"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The index is not below <see cref="Size"/>.</exception>
    public MerkleHash GetLeaf(long index)
    {
        lock (_gate)
        {
            CheckRange(index, 0, _size - 1, nameof(index));
            return _store.GetLeafHash(index);
        }
    }

    /// <summary>The root hash the tree had when it held <paramref name="treeSize"/> leaves.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The size is negative or larger than <see cref="Size"/>.</exception>
    public MerkleHash RootAt(long treeSize)
    {
        lock (_gate)
        {
            CheckRange(treeSize, 0, _size, nameof(treeSize));
            if (treeSize == _size)
            {
                return FrontierRoot();
            }

            return treeSize == 0 ? MerkleHasher.EmptyRoot : RangeHash(0, treeSize);
        }
    }

    private void AddToFrontier(MerkleHash leafHash)
    {
        // Leaf `index` completes one subtree per trailing 1-bit of its index: merge it with the frontier.
        var index = _size;
        var hash = leafHash;
        var level = 0;
        while (((index >> level) & 1) == 1)
        {
            hash = MerkleHasher.HashChildren(_frontier[level], hash);
            level++;
            if (level >= CacheMinLevel)
            {
                var cache = _levels[level] ??= new HashList();
                Debug.Assert(cache.Count == index >> level, "cached subtrees are completed in order");
                cache.Add(hash);
            }
        }

        _frontier[level] = hash;
        _size = index + 1;
    }

    private MerkleHash FrontierRoot()
    {
        if (_size == 0)
        {
            return MerkleHasher.EmptyRoot;
        }

        // Fold the frontier from the smallest (rightmost) subtree up to the largest (leftmost).
        var level = BitOperations.TrailingZeroCount(_size);
        var root = _frontier[level];
        for (level++; level < MaxLevels; level++)
        {
            if (((_size >> level) & 1) == 1)
            {
                root = MerkleHasher.HashChildren(_frontier[level], root);
            }
        }

        return root;
    }

    /// <summary>MTH of the <paramref name="count"/> leaves starting at <paramref name="start"/>.</summary>
    /// <remarks>
    /// Only called on ranges produced by the RFC 9162 recursion from the root, where <paramref name="start"/> is
    /// always a multiple of the smallest power of two not below <paramref name="count"/>; therefore every
    /// power-of-two left part is an aligned complete subtree that may be cached.
    /// </remarks>
    private MerkleHash RangeHash(long start, long count)
    {
        Debug.Assert(count >= 1 && start + count <= _size, "range inside the tree");
        if (BitOperations.IsPow2(count))
        {
            var level = BitOperations.Log2((ulong)count);
            return SubtreeHash(level, start >> level);
        }

        var split = LargestPowerOfTwoBelow(count);
        return MerkleHasher.HashChildren(RangeHash(start, split), RangeHash(start + split, count - split));
    }

    /// <summary>Hash of the complete subtree of 2^level leaves whose first leaf is index * 2^level.</summary>
    private MerkleHash SubtreeHash(int level, long index)
    {
        if (level == 0)
        {
            return _store.GetLeafHash(index);
        }

        if (_levels[level] is { } cache && index < cache.Count)
        {
            return cache[index];
        }

        return MerkleHasher.HashChildren(SubtreeHash(level - 1, 2 * index), SubtreeHash(level - 1, (2 * index) + 1));
    }

    /// <summary>The largest power of two strictly below <paramref name="n"/> (n ≥ 2): the RFC's split point k.</summary>
    internal static long LargestPowerOfTwoBelow(long n) => 1L << BitOperations.Log2((ulong)(n - 1));

    private static void CheckRange(long value, long min, long max, string name)
    {
        if (value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(name, value, $"Must be between {min} and {max}.");
        }
    }
}
