namespace Nv.Audit.Archive;

/// <summary>One row of the SQLite store's <c>audit_archives</c> table, every column as stored (text exactly as written), as
/// the archive ledger hashes it (<see cref="ArchiveLedger"/>).</summary>
internal sealed record ArchiveRow
{
    public required string Chain { get; init; }

    public required long FirstSequence { get; init; }

    public required long LastSequence { get; init; }

    public required string LastHash { get; init; }

    /// <summary>The last archived entry's timestamp, in the canonical timestamp text.</summary>
    public required string LastTimestamp { get; init; }

    public required string FileName { get; init; }

    public required string FileSha256 { get; init; }

    /// <summary>The signed checkpoint text at <see cref="LastSequence"/>.</summary>
    public required string Checkpoint { get; init; }

    /// <summary>When the archive was recorded (round-trip text).</summary>
    public required string Created { get; init; }
}
