using System.Buffers;
using System.Security.Cryptography;
using Nv.Audit.Merkle;

namespace Nv.Audit.Chain;

/// <summary>Computes chain hashes: <c>hex(SHA-256(bytes(prevHash) || canonical(entry)))</c>.</summary>
internal static class AuditHash
{
    /// <summary>The previous hash of a chain's first entry: 64 zeros.</summary>
    public static readonly string Genesis = new('0', 64);

    /// <summary>Computes the hash of <paramref name="entry"/>, whose Sequence and PrevHash must already be set.</summary>
    /// <param name="entry">The entry.</param>
    /// <param name="scratch">A reusable buffer (cleared here), to avoid allocating per entry.</param>
    public static string Compute(AuditEntry entry, ArrayBufferWriter<byte> scratch) => Compute(entry, scratch, out _);

    /// <summary>Computes the hash of <paramref name="entry"/> and its Merkle leaf hash, <c>SHA-256(0x00 || canonical(entry))</c>,
    /// from one encoding.</summary>
    public static string Compute(AuditEntry entry, ArrayBufferWriter<byte> scratch, out MerkleHash leafHash)
    {
        ArgumentNullException.ThrowIfNull(entry);
        scratch.Clear();
        if (!IsWellFormed(entry.PrevHash))
        {
            throw new ArgumentException("PrevHash must be 64 lowercase hex characters.", nameof(entry));
        }

        var prev = scratch.GetSpan(32);
        Convert.FromHexString(entry.PrevHash, prev, out _, out _);
        scratch.Advance(32);
        AuditCanonicalEncoding.Write(entry, scratch);
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(scratch.WrittenSpan, digest);
        leafHash = MerkleHasher.HashLeaf(scratch.WrittenSpan[32..]);
        return Convert.ToHexStringLower(digest);
    }

    /// <summary>Computes the hash of <paramref name="entry"/>.</summary>
    public static string Compute(AuditEntry entry) => Compute(entry, new ArrayBufferWriter<byte>(1024));

    /// <summary>Whether <paramref name="hash"/> is 64 lowercase hex characters.</summary>
    public static bool IsWellFormed(string? hash)
    {
        if (hash is null || hash.Length != 64)
        {
            return false;
        }

        foreach (var c in hash)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
            {
                return false;
            }
        }

        return true;
    }
}
