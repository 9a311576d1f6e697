using System.Buffers.Binary;

namespace Nv.Wal.Framing;

/// <summary>Nv's own frame around each record, stored as the payload of one FasterLog entry.</summary>
/// <remarks>
/// Layout (little-endian, 20-byte header):
/// <c>magic u16 'NV' | format u8 | flags u8 | bodyLength i32 | sequence (LSN) i64 | crc32c u32</c>, then the body.
/// The CRC-32C covers the body followed by the first 16 header bytes, so the body CRC can be computed before the
/// LSN is known and finished in the append critical section. Nv never relies on FasterLog's own checksums.
/// The format byte names the body layout (<see cref="WalRecordCodec"/>): 1 = a single-entity record, 2 = a batch record.
/// The header itself is the same in both, so recovery and scanning treat every frame alike.
/// Versioning rule: every later format keeps this header and this CRC. A new body layout takes a new format byte, a new
/// header feature a bit of the flags byte (0 so far), so an older build checks a newer frame's magic, length and CRC like any
/// other and then refuses it as written by a newer Nv (<see cref="FrameStatus.Newer"/>), never as damage that a recovery mode
/// could cut.
/// </remarks>
internal static class WalFrame
{
    public const int HeaderSize = 20;
    public const ushort Magic = 0x564E; // "NV"

    /// <summary>Body format 1: a single-entity record (the only format before batches; still written for them).</summary>
    public const byte FormatVersion1 = 1;

    /// <summary>Body format 2: a batch record (issue 18).</summary>
    public const byte FormatVersion2 = 2;

    /// <summary>The newest body format this build reads.</summary>
    public const byte NewestFormat = FormatVersion2;

    /// <summary>The body format of a frame whose header has been validated.</summary>
    public static byte FormatOf(ReadOnlySpan<byte> frame) => frame[2];

    /// <summary>Fills the header of a frame whose body already sits at <c>frame[HeaderSize..]</c>. The body format is the
    /// one the encoder put at <c>frame[2]</c> (format 1 when it left it zero).</summary>
    public static void Seal(Span<byte> frame, long sequence, uint bodyCrc)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(frame, Magic);
        if (frame[2] is not (FormatVersion1 or FormatVersion2))
        {
            frame[2] = FormatVersion1;
        }

        frame[3] = 0;
        BinaryPrimitives.WriteInt32LittleEndian(frame[4..], frame.Length - HeaderSize);
        BinaryPrimitives.WriteInt64LittleEndian(frame[8..], sequence);
        var crc = Crc32C.Append(bodyCrc, frame[..16]);
        BinaryPrimitives.WriteUInt32LittleEndian(frame[16..], crc);
    }

    /// <summary>Checks a complete frame; on success returns its sequence and body.</summary>
    /// <remarks>A frame a newer Nv wrote (<see cref="Check"/>: <see cref="FrameStatus.Newer"/>) is not valid here either.</remarks>
    public static bool TryValidate(ReadOnlySpan<byte> frame, out long sequence, out ReadOnlySpan<byte> body, out string? error) =>
        Check(frame, out sequence, out body, out error) == FrameStatus.Valid;

    /// <summary>Checks a complete frame: magic, length and CRC first, so that only an intact frame is read as written by a
    /// newer Nv (an unknown format byte or header flag: <see cref="FrameStatus.Newer"/>, with <paramref name="error"/> naming
    /// it and <paramref name="sequence"/> set); anything else that fails is <see cref="FrameStatus.Damaged"/>. On success
    /// returns the frame's sequence and body.</summary>
    public static FrameStatus Check(ReadOnlySpan<byte> frame, out long sequence, out ReadOnlySpan<byte> body, out string? error)
    {
        sequence = 0;
        body = default;
        if (frame.Length < HeaderSize)
        {
            error = "frame shorter than its header";
            return FrameStatus.Damaged;
        }

        if (BinaryPrimitives.ReadUInt16LittleEndian(frame) != Magic || frame[2] == 0)
        {
            error = "bad magic or format version";
            return FrameStatus.Damaged;
        }

        var bodyLength = BinaryPrimitives.ReadInt32LittleEndian(frame[4..]);
        if (bodyLength < 0 || bodyLength != frame.Length - HeaderSize)
        {
            error = "body length does not match the entry length";
            return FrameStatus.Damaged;
        }

        var crc = Crc32C.Append(Crc32C.Compute(frame[HeaderSize..]), frame[..16]);
        if (crc != BinaryPrimitives.ReadUInt32LittleEndian(frame[16..]))
        {
            error = "CRC-32C mismatch";
            return FrameStatus.Damaged;
        }

        sequence = BinaryPrimitives.ReadInt64LittleEndian(frame[8..]);
        if (frame[2] > NewestFormat || frame[3] != 0)
        {
            error = frame[2] > NewestFormat ? $"record format {frame[2]}" : $"record format {frame[2]} with header flags 0x{frame[3]:x2}";
            return FrameStatus.Newer;
        }

        if (sequence <= 0)
        {
            error = "non-positive sequence";
            sequence = 0;
            return FrameStatus.Damaged;
        }

        body = frame[HeaderSize..];
        error = null;
        return FrameStatus.Valid;
    }
}
