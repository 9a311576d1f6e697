using Nv.Audit.Merkle;

namespace Nv.Audit.Archive;

/// <summary>The result of verifying an archive file offline (<see cref="AuditArchives.Verify(string, string?)"/>, <c>nv audit verify --archive</c>).</summary>
public sealed record AuditArchiveVerification
{
    /// <summary>Whether the file is a complete archive whose entries link, whose recomputed Merkle root is the one its
    /// checkpoint signs, and whose checkpoint signature verifies.</summary>
    public required bool IsValid { get; init; }

    /// <summary>The file verified.</summary>
    public required string File { get; init; }

    /// <summary>The chain the archive holds a range of.</summary>
    public string? Chain { get; init; }

    /// <summary>Sequence of the first archived entry.</summary>
    public long FirstSequence { get; init; }

    /// <summary>Sequence of the last archived entry (also the size of the tree the checkpoint signs).</summary>
    public long LastSequence { get; init; }

    /// <summary>Entries checked.</summary>
    public long EntriesChecked { get; init; }

    /// <summary>The hash the first entry links to (64 zeros for a chain's first entry).</summary>
    public string? PrevHash { get; init; }

    /// <summary>The hash of the last entry: the next archive's first entry links to it.</summary>
    public string? LastHash { get; init; }

    /// <summary>The signed checkpoint at <see cref="LastSequence"/>.</summary>
    public SignedCheckpoint? Checkpoint { get; init; }

    /// <summary>Whether the signature was checked with a key the caller supplied (true) or only with the key the file
    /// carries (false: the file is consistent with itself, but anyone could have made it; pin the key).</summary>
    public bool KeyPinned { get; init; }

    /// <summary>The first broken entry's sequence, when an entry is at fault.</summary>
    public long? BrokenSequence { get; init; }

    /// <summary>Why the archive does not verify.</summary>
    public string? Reason { get; init; }
}
