using System.Buffers.Binary;
using Nv.Wal.Framing;
using Nv.Wal.IO;

namespace Nv.Wal.Watermarks;

/// <summary>The small, atomically replaced file holding the applied and audited watermarks.</summary>
/// <remarks>
/// Layout (40 bytes, little-endian): magic "NVWM" | version u32 | applied i64 | audited i64 | writes i64 | crc32c u32 |
/// pad u32. Written to a temp file, fsynced (checked), renamed over the old one, then the directory is fsynced
/// (checked). A file that fails its CRC (or cannot be read) is reported and treated as missing: watermarks may lag
/// (replay is idempotent, and the host recomputes them from the stores) but are never read as higher than what was
/// persisted, and the log opens either way.
/// Versioning rule: every later version keeps magic and version first and, 8 bytes from the end, the CRC-32C of every byte
/// before it. So an older build checks a newer file like its own and refuses the open (<see cref="LoadStatus.Newer"/>):
/// never ignored as corrupt and overwritten with version 1 watermarks.
/// </remarks>
internal static class WatermarkCheckpoint
{
    public const string FileName = "watermarks.ckpt";
    private const uint Magic = 0x4D57564E; // "NVWM"
    private const uint Version = 1;
    private const int Size = 40;
    private const int MinimumSize = 16; // magic, version, CRC, pad: what every version has

    public readonly record struct Values(Lsn Applied, Lsn Audited);

    public enum LoadStatus
    {
        Missing,
        Loaded,
        Corrupt,

        /// <summary>An intact checkpoint of a version only a newer Nv writes (its version in the detail).</summary>
        Newer,
    }

    public static LoadStatus TryLoad(string directory, out Values values, out string? detail)
    {
        values = default;
        detail = null;
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            return LoadStatus.Missing;
        }

        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Unreadable is as good as corrupt: the watermarks are recomputed from the stores, never a reason not to open.
            detail = $"'{path}' cannot be read ({ex.Message})";
            return LoadStatus.Corrupt;
        }

        // Magic and CRC first (where every version keeps them), then the version: only an intact file is a newer one.
        var span = bytes.AsSpan();
        if (bytes.Length < MinimumSize || BinaryPrimitives.ReadUInt32LittleEndian(span) != Magic)
        {
            detail = $"'{path}' is {bytes.Length} bytes with a bad magic";
            return LoadStatus.Corrupt;
        }

        if (Crc32C.Compute(span[..^8]) != BinaryPrimitives.ReadUInt32LittleEndian(span[^8..]))
        {
            detail = $"'{path}' fails its CRC-32C";
            return LoadStatus.Corrupt;
        }

        var version = BinaryPrimitives.ReadUInt32LittleEndian(span[4..]);
        if (version > Version)
        {
            detail = $"version {version}";
            return LoadStatus.Newer;
        }

        if (version != Version || bytes.Length != Size)
        {
            detail = $"'{path}' has version {version} and {bytes.Length} bytes (expected version {Version}, {Size} bytes)";
            return LoadStatus.Corrupt;
        }

        var applied = BinaryPrimitives.ReadInt64LittleEndian(span[8..]);
        var audited = BinaryPrimitives.ReadInt64LittleEndian(span[16..]);
        if (applied < 0 || audited < 0)
        {
            detail = $"'{path}' holds negative watermarks";
            return LoadStatus.Corrupt;
        }

        values = new Values(new Lsn(applied), new Lsn(audited));
        return LoadStatus.Loaded;
    }

    /// <summary>Durably replaces the checkpoint. Throws <see cref="IOException"/> (incl. <see cref="NativeSyncException"/>) on failure.</summary>
    public static void Write(string directory, Values values)
    {
        var bytes = new byte[Size];
        var span = bytes.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(span, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], Version);
        BinaryPrimitives.WriteInt64LittleEndian(span[8..], values.Applied.Value);
        BinaryPrimitives.WriteInt64LittleEndian(span[16..], values.Audited.Value);
        BinaryPrimitives.WriteInt64LittleEndian(span[24..], DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        BinaryPrimitives.WriteUInt32LittleEndian(span[32..], Crc32C.Compute(span[..32]));

        var path = Path.Combine(directory, FileName);
        DurableFile.Write(path, bytes);
    }
}
