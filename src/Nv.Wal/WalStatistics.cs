namespace Nv.Wal;

/// <summary>A point-in-time view of the log for operators (<c>nv wal stat</c>) and metrics.</summary>
public sealed record WalStatistics
{
    /// <summary>Lifecycle state.</summary>
    public required WalState State { get; init; }

    /// <summary>First record still held.</summary>
    public required Lsn FirstLsn { get; init; }

    /// <summary>Last appended record (may not be durable yet).</summary>
    public required Lsn LastLsn { get; init; }

    /// <summary>Every record at or below this is durable on disk.</summary>
    public required Lsn DurableLsn { get; init; }

    /// <summary>The database reflects every record at or below this.</summary>
    public required Lsn AppliedLsn { get; init; }

    /// <summary>Every applied record at or below this has its audit entry.</summary>
    public required Lsn AuditedLsn { get; init; }

    /// <summary>Segment files on disk.</summary>
    public required int SegmentCount { get; init; }

    /// <summary>Bytes of segment files on disk.</summary>
    public required long SizeBytes { get; init; }
}
