using System.Buffers;
using System.Buffers.Binary;
using K4os.Compression.LZ4;

namespace Nv.Wal.Protection;

/// <summary>LZ4 block compression of payload bytes, used only when it pays: the compressed form is the raw length
/// (u32, little-endian) followed by one LZ4 block (K4os.Compression.LZ4, fast level).</summary>
/// <remarks>A payload is compressed when it is at least <see cref="MinimumLength"/> bytes and the compressed form is at
/// most seven eighths of it (the same rule as the audit store's columns): small or incompressible payloads stay as they
/// are, so compression never costs space and rarely costs time for nothing.</remarks>
internal static class PayloadCompression
{
    public const int MinimumLength = 128;
    public const int HeaderLength = 4;

    /// <summary>The compressed form of <paramref name="raw"/>, or null when compressing does not save at least an eighth.</summary>
    public static byte[]? TryCompress(ReadOnlySpan<byte> raw) => TryCompress(raw, reserve: 0);

    /// <summary>The compressed form of <paramref name="raw"/> after <paramref name="reserve"/> bytes left for the caller
    /// (zero), or null when compressing does not save at least an eighth.</summary>
    /// <remarks>Compresses into a pooled scratch buffer (cleared after) and copies once into an array of the exact size.</remarks>
    public static byte[]? TryCompress(ReadOnlySpan<byte> raw, int reserve)
    {
        if (raw.Length < MinimumLength)
        {
            return null;
        }

        var scratch = ArrayPool<byte>.Shared.Rent(LZ4Codec.MaximumOutputSize(raw.Length));
        var written = 0;
        try
        {
            written = LZ4Codec.Encode(raw, scratch, LZ4Level.L00_FAST);
            if (written <= 0 || HeaderLength + written > raw.Length - (raw.Length / 8))
            {
                return null;
            }

            var result = new byte[reserve + HeaderLength + written];
            BinaryPrimitives.WriteUInt32LittleEndian(result.AsSpan(reserve), (uint)raw.Length);
            scratch.AsSpan(0, written).CopyTo(result.AsSpan(reserve + HeaderLength));
            return result;
        }
        finally
        {
            // The scratch held a payload (perhaps one about to be sealed): cleared before another renter sees it.
            scratch.AsSpan(0, written > 0 ? written : scratch.Length).Clear();
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>Decompresses what <see cref="TryCompress(ReadOnlySpan{byte})"/> returned.</summary>
    /// <exception cref="FormatException">The bytes are not a valid compressed payload of at most <paramref name="maxLength"/> bytes.</exception>
    public static byte[] Decompress(ReadOnlySpan<byte> compressed, int maxLength)
    {
        if (compressed.Length < HeaderLength)
        {
            throw new FormatException("A compressed payload is shorter than its header.");
        }

        var length = BinaryPrimitives.ReadUInt32LittleEndian(compressed);
        if (length > (uint)maxLength)
        {
            throw new FormatException($"A compressed payload claims {length} bytes; at most {maxLength} are allowed.");
        }

        var raw = new byte[length];
        var decoded = LZ4Codec.Decode(compressed[HeaderLength..], raw);
        if (decoded != length)
        {
            throw new FormatException("A compressed payload does not decompress to its recorded length.");
        }

        return raw;
    }
}
