using System.Security.Cryptography;

namespace Nv.Audit.Merkle;

/// <summary>The RFC 9162 §2.1.1 hashing scheme with SHA-256.</summary>
/// <remarks>
/// Leaves and interior nodes are domain-separated by a one-byte prefix so that a leaf can never be
/// passed off as a node (second-preimage protection): leaf = SHA-256(0x00 || data),
/// node = SHA-256(0x01 || left || right), and the empty tree's root is SHA-256 of no bytes.
/// All members are pure and thread-safe.
/// </remarks>
public static class MerkleHasher
{
    private const byte LeafPrefix = 0x00;
    private const byte NodePrefix = 0x01;
    private const int StackLimit = 1024;

    /// <summary>The root of the empty tree: SHA-256 of the empty string (e3b0c442…b855).</summary>
    public static MerkleHash EmptyRoot { get; } = MerkleHash.Sha256([]);

    /// <summary>Hashes one leaf's data: SHA-256(0x00 || data).</summary>
    public static MerkleHash HashLeaf(ReadOnlySpan<byte> data)
    {
        if (data.Length < StackLimit)
        {
            Span<byte> input = stackalloc byte[data.Length + 1];
            input[0] = LeafPrefix;
            data.CopyTo(input[1..]);
            return MerkleHash.Sha256(input);
        }

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData([LeafPrefix]);
        hash.AppendData(data);
        Span<byte> digest = stackalloc byte[MerkleHash.Size];
        hash.GetHashAndReset(digest);
        return MerkleHash.FromBytes(digest);
    }

    /// <summary>Hashes two children into their parent: SHA-256(0x01 || left || right).</summary>
    public static MerkleHash HashChildren(MerkleHash left, MerkleHash right)
    {
        Span<byte> input = stackalloc byte[1 + (2 * MerkleHash.Size)];
        input[0] = NodePrefix;
        left.CopyTo(input[1..]);
        right.CopyTo(input[(1 + MerkleHash.Size)..]);
        return MerkleHash.Sha256(input);
    }
}
