namespace Nv.Host.Replay;

/// <summary>What a replay did.</summary>
public sealed record ReplaySummary
{
    /// <summary>Records read from the WAL above the applied watermark.</summary>
    public required long RecordsRead { get; init; }

    /// <summary>Records written to the database by this replay.</summary>
    public required long Replayed { get; init; }

    /// <summary>Records the database already reflected.</summary>
    public required long AlreadyApplied { get; init; }

    /// <summary>Records deterministically rejected (now or before).</summary>
    public required long Rejected { get; init; }

    /// <summary>Audit entries written by the backfill.</summary>
    public required long AuditBackfilled { get; init; }

    /// <summary>Whether this was a dry run (nothing written).</summary>
    public required bool DryRun { get; init; }

    /// <summary>Wall-clock duration.</summary>
    public required TimeSpan Duration { get; init; }
}
