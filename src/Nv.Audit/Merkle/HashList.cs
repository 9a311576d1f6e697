namespace Nv.Audit.Merkle;

/// <summary>
/// An append-only list of hashes kept in fixed-size chunks, so growth never copies what is already
/// stored and no single array reaches the large-object heap's worst case (1M hashes = 32 MiB).
/// </summary>
/// <remarks>Not thread-safe; the owner serializes access.</remarks>
internal sealed class HashList
{
    private const int ChunkBits = 14;
    private const int ChunkLength = 1 << ChunkBits;
    private const int ChunkMask = ChunkLength - 1;

    private readonly List<MerkleHash[]> _chunks = [];

    public long Count { get; private set; }

    public MerkleHash this[long index]
    {
        get
        {
            if ((ulong)index >= (ulong)Count)
            {
                throw new ArgumentOutOfRangeException(nameof(index), index, $"The list holds {Count} hashes.");
            }

            return _chunks[(int)(index >> ChunkBits)][index & ChunkMask];
        }
    }

    public void Add(MerkleHash hash)
    {
        var offset = (int)(Count & ChunkMask);
        if (offset == 0)
        {
            _chunks.Add(new MerkleHash[ChunkLength]);
        }

        _chunks[^1][offset] = hash;
        Count++;
    }
}
