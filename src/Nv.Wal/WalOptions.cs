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

    /// <summary>Opens an existing log for reading only (default off): nothing in <see cref="Directory"/> is created, changed or
    /// deleted. The operator's inspection commands (<c>nv wal stat|dump|verify</c>, <c>nv replay --dry-run</c>) open it so.</summary>
    /// <remarks>Recovery runs in memory: it validates every entry as a read-write open does, and what that open would repair
    /// (a damaged tail cut and saved aside, a skipped region, a rebuild, a jump recorded) is reported in
    /// <see cref="WalRecoveryReport.Detail"/> but not done; <see cref="WalRecoveryReport.TailBytesCut"/> and
    /// <see cref="WalRecoveryReport.RecordsSkipped"/> count what it would cut or skip, and no <c>*.broken</c> file is written.
    /// Reads stop before any damage. A missing directory or log folder is a <see cref="WalConfigurationException"/>, and a
    /// rebuild a crash interrupted after its copy verified must be finished by a read-write open first. The directory lock is
    /// taken when its lock file exists; a log whose lock file is missing (a copy, say) is read without one and none is created,
    /// and if a writer creates it while recovery reads (a host started on the copy) the open fails with
    /// <see cref="WalLockedException"/> rather than report a log half-changed. Appends, flushes,
    /// <see cref="IWriteAheadLog.ContinueAfterAsync"/>, <see cref="IWriteAheadLog.PersistWatermarksAsync"/> and truncation
    /// throw <see cref="InvalidOperationException"/>; closing writes no final commit and no watermarks. Applies to the file
    /// log only (the in-memory log ignores it).</remarks>
    public bool ReadOnly { get; set; }
}
