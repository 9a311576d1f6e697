namespace Nv.Audit.Merkle;

/// <summary>An <see cref="IMerkleLeafStore"/> held in process memory (32 bytes per leaf).</summary>
/// <remarks>Not durable and not thread-safe. Used by tests, benchmarks and offline verification tools.</remarks>
internal sealed class InMemoryMerkleLeafStore : IMerkleLeafStore
{
    private readonly HashList _leaves = new();

    /// <inheritdoc />
    public long Count => _leaves.Count;

    /// <inheritdoc />
    public MerkleHash GetLeafHash(long index) => _leaves[index];

    /// <inheritdoc />
    public void Append(MerkleHash leafHash) => _leaves.Add(leafHash);
}
