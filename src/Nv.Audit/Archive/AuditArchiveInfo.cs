using Nv.Audit.Merkle;

namespace Nv.Audit.Archive;

/// <summary>An archive recorded in the audit store: a range of one chain written to a file by <c>nv audit archive</c>.</summary>
public sealed record AuditArchiveInfo
{
    /// <summary>The chain (service).</summary>
    public required string Chain { get; init; }

    /// <summary>Sequence of the first entry in the file.</summary>
    public required long FirstSequence { get; init; }

    /// <summary>Sequence of the last entry in the file.</summary>
    public required long LastSequence { get; init; }

    /// <summary>The last entry's hash.</summary>
    public required string LastHash { get; init; }

    /// <summary>The newest timestamp among the archived entries (retention prunes the range once it is older than the window).</summary>
    public required DateTimeOffset LastTimestamp { get; init; }

    /// <summary>The archive file, as written.</summary>
    public required string FilePath { get; init; }

    /// <summary>Lowercase hex SHA-256 of the file.</summary>
    public required string FileSha256 { get; init; }

    /// <summary>The signed checkpoint at <see cref="LastSequence"/> the file carries (also stored with the trail).</summary>
    public required SignedCheckpoint Checkpoint { get; init; }

    /// <summary>When the archive was recorded.</summary>
    public required DateTimeOffset Created { get; init; }

    /// <summary>The last sequence of this range that retention has pruned from the store (0: none yet).</summary>
    public long PrunedThrough { get; init; }
}
