using Nv.Audit.Merkle;

namespace Nv.Unit.Tests.Audit.Merkle;

internal static class ProofMutations
{
    /// <summary>A copy of <paramref name="path"/> with bit <paramref name="bit"/> of element <paramref name="element"/> flipped.</summary>
    public static MerkleHash[] FlipBit(IReadOnlyList<MerkleHash> path, int element, int bit)
    {
        var copy = path.ToArray();
        var bytes = copy[element].ToArray();
        bytes[bit / 8 % MerkleHash.Size] ^= (byte)(1 << (bit % 8));
        copy[element] = MerkleHash.FromBytes(bytes);
        return copy;
    }
}
