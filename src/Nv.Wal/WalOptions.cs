namespace Nv.Wal;

/// <summary>Configuration of the write-ahead log (section <c>Nv:Wal</c>; <c>NV_WAL_DIR</c> overrides <see cref="Directory"/>).</summary>
public sealed class WalOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Nv:Wal";

    /// <summary>Directory holding the segment files, the watermark checkpoint and any saved-aside broken tails.</summary>
    public string Directory { get; set; } = Path.Combine("data", "wal");

    /// <summary>Segment file size as a power of two (default 2^28 = 256 MiB).</summary>
    public int SegmentSizeBits { get; set; } = 28;

    /// <summary>Page size as a power of two (default 2^22 = 4 MiB).</summary>
    public int PageSizeBits { get; set; } = 22;

    /// <summary>In-memory log buffer as a power of two (default 2^26 = 64 MiB).</summary>
    public int MemorySizeBits { get; set; } = 26;

    /// <summary>Largest serialized record accepted, in bytes (default 1 MiB).</summary>
    public int MaxRecordBytes { get; set; } = 1 << 20;

    /// <summary>What recovery does with damaged records.</summary>
    public WalRecoveryMode RecoveryMode { get; set; } = WalRecoveryMode.TolerateCorruptedTail;

    /// <summary>How often advanced watermarks are persisted in the background.</summary>
    public TimeSpan WatermarkPersistInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Compress record payloads with LZ4 when that saves at least an eighth (payloads of 128 bytes or more;
    /// default on). Records are readable either way; turning it off only changes how new records are written.</summary>
    public bool CompressPayloads { get; set; } = true;

    /// <summary>Segments below both watermarks are kept this long before truncation removes them.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.Zero;
}
