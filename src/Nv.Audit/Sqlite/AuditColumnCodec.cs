using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using K4os.Compression.LZ4;
using Microsoft.Data.Sqlite;
using Nv.Shared.Sqlite;

namespace Nv.Audit.Sqlite;

/// <summary>How the large JSON columns of <c>audit_entries</c> (before, after, changes, metadata) are stored: the canonical
/// JSON text itself (a TEXT value), or that text LZ4-compressed (a BLOB value: the byte 0x4C 'L', the text's length as a
/// little-endian uint32, then one LZ4 block).</summary>
/// <remarks>Storage only: the hash chain and the Merkle leaves cover the canonical text, so a compressed and an
/// uncompressed row of the same entry verify the same way, and old rows (always TEXT) read unchanged. A value is
/// compressed only when it is at least <see cref="MinimumLength"/> bytes and shrinks by at least an eighth: fewer bytes
/// mean fewer SQLite pages, WAL frames and checkpoint copies per entry, the audit append's main cost. An external
/// verifier decompresses (docs/audit-hash-chain.md, docs/audit_verify_reference.py). Not thread-safe: one instance per
/// writer connection.</remarks>
internal sealed class AuditColumnCodec
{
    /// <summary>The first byte of a compressed value.</summary>
    public const byte Lz4Marker = 0x4C;

    /// <summary>Shorter values are stored as text: LZ4 saves little on them.</summary>
    public const int MinimumLength = 128;

    private const int HeaderLength = 5;
    private byte[] _buffer = new byte[4096];

    /// <summary>Binds <paramref name="utf8"/> to parameter <paramref name="index"/>, compressed when that pays.</summary>
    public void Bind(SqliteStatement statement, int index, ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length >= MinimumLength)
        {
            var needed = HeaderLength + LZ4Codec.MaximumOutputSize(utf8.Length);
            if (_buffer.Length < needed)
            {
                _buffer = new byte[Math.Max(needed, _buffer.Length * 2)];
            }

            var compressed = LZ4Codec.Encode(utf8, _buffer.AsSpan(HeaderLength), LZ4Level.L00_FAST);
            if (compressed > 0 && HeaderLength + compressed <= utf8.Length - (utf8.Length / 8))
            {
                _buffer[0] = Lz4Marker;
                BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(1), (uint)utf8.Length);
                statement.BindBlob(index, _buffer.AsSpan(0, HeaderLength + compressed));
                return;
            }
        }

        statement.BindText(index, utf8);
    }

    /// <summary>The canonical JSON text of a stored value (TEXT as is, a compressed BLOB decompressed), or null.</summary>
    /// <exception cref="FormatException">The value is a BLOB that is not a valid compressed value (damage or tampering).</exception>
    public static string? Read(SqliteDataReader reader, int ordinal)
    {
        if (reader.IsDBNull(ordinal))
        {
            return null;
        }

        return reader.GetValue(ordinal) switch
        {
            string text => text,
            byte[] blob => Decompress(blob),
            var other => throw new FormatException($"An audit JSON column holds a {other.GetType().Name}."),
        };
    }

    /// <summary>Decompresses a stored BLOB value to its canonical JSON text.</summary>
    public static string Decompress(ReadOnlySpan<byte> blob)
    {
        if (blob.Length < HeaderLength || blob[0] != Lz4Marker)
        {
            throw new FormatException("A compressed audit column does not start with the LZ4 marker.");
        }

        var length = BinaryPrimitives.ReadUInt32LittleEndian(blob[1..]);
        if (length > 256 * 1024 * 1024)
        {
            throw new FormatException($"A compressed audit column claims {length} bytes.");
        }

        var text = ArrayPool<byte>.Shared.Rent((int)length);
        try
        {
            var decoded = LZ4Codec.Decode(blob[HeaderLength..], text.AsSpan(0, (int)length));
            if (decoded != length)
            {
                throw new FormatException("A compressed audit column does not decompress to its recorded length.");
            }

            return Encoding.UTF8.GetString(text, 0, decoded);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(text);
        }
    }
}
