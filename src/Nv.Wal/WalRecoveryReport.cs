namespace Nv.Wal;

/// <summary>What recovery found and did when the log was opened.</summary>
public sealed record WalRecoveryReport
{
    /// <summary>Valid records in the log after recovery.</summary>
    public required long RecordCount { get; init; }

    /// <summary>First record still in the log (after truncation), or <see cref="Lsn.None"/> when empty.</summary>
    public required Lsn FirstLsn { get; init; }

    /// <summary>Last valid record, or <see cref="Lsn.None"/> when empty.</summary>
    public required Lsn LastLsn { get; init; }

    /// <summary>Bytes cut from a damaged tail (0 when the tail was clean).</summary>
    public long TailBytesCut { get; init; }

    /// <summary>Where the cut tail was saved, if any.</summary>
    public string? BrokenTailPath { get; init; }

    /// <summary>Every file recovery saved damaged bytes to: each region skipped in <see cref="WalRecoveryMode.SkipAnyCorruptedRecord"/>
    /// mode and the cut tail (<c>*.broken</c> files in the WAL directory, never deleted by Nv).</summary>
    public IReadOnlyList<string> BrokenPaths { get; init; } = [];

    /// <summary>Damaged records skipped (only in <see cref="WalRecoveryMode.SkipAnyCorruptedRecord"/>).</summary>
    public long RecordsSkipped { get; init; }

    /// <summary>Human-readable reason for any cut or skip.</summary>
    public string? Detail { get; init; }

    /// <summary>How long recovery took.</summary>
    public TimeSpan Duration { get; init; }
}
