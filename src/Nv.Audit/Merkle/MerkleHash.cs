using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Nv.Audit.Merkle;

/// <summary>A 32-byte SHA-256 value: a leaf hash, an interior node hash or a tree root.</summary>
/// <remarks>
/// Stored as four big-endian 64-bit words so that copies are cheap and equality needs no allocation.
/// The byte order of <see cref="CopyTo"/> and <see cref="ToArray"/> is the digest's natural order.
/// </remarks>
public readonly struct MerkleHash : IEquatable<MerkleHash>
{
    /// <summary>Length of a hash in bytes.</summary>
    public const int Size = 32;

    private readonly ulong _w0;
    private readonly ulong _w1;
    private readonly ulong _w2;
    private readonly ulong _w3;

    private MerkleHash(ReadOnlySpan<byte> bytes)
    {
        _w0 = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        _w1 = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);
        _w2 = BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]);
        _w3 = BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]);
    }

    /// <summary>Creates a hash from exactly 32 bytes.</summary>
    /// <exception cref="ArgumentException">The span is not 32 bytes long.</exception>
    public static MerkleHash FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size)
        {
            throw new ArgumentException($"A Merkle hash is {Size} bytes; got {bytes.Length}.", nameof(bytes));
        }

        return new MerkleHash(bytes);
    }

    /// <summary>Parses 64 hexadecimal characters (either case).</summary>
    /// <exception cref="FormatException">The text is not 64 hex characters.</exception>
    public static MerkleHash FromHex(string hex)
    {
        ArgumentNullException.ThrowIfNull(hex);
        if (hex.Length != Size * 2)
        {
            throw new FormatException($"A Merkle hash is {Size * 2} hex characters; got {hex.Length}.");
        }

        return new MerkleHash(Convert.FromHexString(hex));
    }

    /// <summary>Parses the standard base64 encoding of 32 bytes (44 characters with padding).</summary>
    /// <exception cref="FormatException">The text is not base64 of exactly 32 bytes.</exception>
    public static MerkleHash FromBase64(string base64)
    {
        ArgumentNullException.ThrowIfNull(base64);
        Span<byte> buffer = stackalloc byte[Size + 3];
        if (!Convert.TryFromBase64String(base64, buffer, out var written) || written != Size)
        {
            throw new FormatException($"Expected base64 of {Size} bytes.");
        }

        return new MerkleHash(buffer[..Size]);
    }

    /// <summary>Computes SHA-256 of <paramref name="data"/> with no domain-separation prefix.</summary>
    public static MerkleHash Sha256(ReadOnlySpan<byte> data)
    {
        Span<byte> digest = stackalloc byte[Size];
        SHA256.HashData(data, digest);
        return new MerkleHash(digest);
    }

    /// <summary>Writes the 32 bytes to <paramref name="destination"/>.</summary>
    /// <exception cref="ArgumentException">The destination is shorter than 32 bytes.</exception>
    public void CopyTo(Span<byte> destination)
    {
        if (destination.Length < Size)
        {
            throw new ArgumentException($"The destination needs {Size} bytes.", nameof(destination));
        }

        BinaryPrimitives.WriteUInt64BigEndian(destination, _w0);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _w1);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], _w2);
        BinaryPrimitives.WriteUInt64BigEndian(destination[24..], _w3);
    }

    /// <summary>Returns the 32 bytes as a new array.</summary>
    public byte[] ToArray()
    {
        var bytes = new byte[Size];
        CopyTo(bytes);
        return bytes;
    }

    /// <summary>Lower-case hexadecimal, 64 characters.</summary>
    public string ToHex()
    {
        Span<byte> bytes = stackalloc byte[Size];
        CopyTo(bytes);
        return Convert.ToHexStringLower(bytes);
    }

    /// <summary>Standard base64 with padding, 44 characters.</summary>
    public string ToBase64()
    {
        Span<byte> bytes = stackalloc byte[Size];
        CopyTo(bytes);
        return Convert.ToBase64String(bytes);
    }

    /// <inheritdoc />
    public bool Equals(MerkleHash other) => _w0 == other._w0 && _w1 == other._w1 && _w2 == other._w2 && _w3 == other._w3;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is MerkleHash other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(_w0, _w1, _w2, _w3);

    /// <summary>The hash as lower-case hex.</summary>
    public override string ToString() => ToHex();

    /// <summary>Whether two hashes are equal.</summary>
    public static bool operator ==(MerkleHash left, MerkleHash right) => left.Equals(right);

    /// <summary>Whether two hashes differ.</summary>
    public static bool operator !=(MerkleHash left, MerkleHash right) => !left.Equals(right);
}
