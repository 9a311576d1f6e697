namespace Nv.Audit;

/// <summary>The result of verifying the audit trail: hash chains, Merkle leaves and signed checkpoints.</summary>
public sealed record AuditVerification
{
    /// <summary>Whether every chain verified.</summary>
    public required bool IsValid { get; init; }

    /// <summary>Entries checked.</summary>
    public required long EntriesChecked { get; init; }

    /// <summary>Signed checkpoints checked (stored ones and the external one).</summary>
    public long CheckpointsChecked { get; init; }

    /// <summary>The chain holding the first broken entry, if any.</summary>
    public string? BrokenChain { get; init; }

    /// <summary>Sequence of the first broken (or first missing, or first possibly rewritten) entry, if known.</summary>
    public long? BrokenSequence { get; init; }

    /// <summary>The tree size of the checkpoint that exposed the problem, when a checkpoint did.</summary>
    public long? BrokenCheckpointSize { get; init; }

    /// <summary>Why it is broken (hash mismatch, gap, prevHash mismatch, checkpoint root or signature mismatch...).</summary>
    public string? Reason { get; init; }

    /// <summary>The key id a checkpoint names when the first problem is that none of the public keys this verification trusts
    /// is that key: its signature could not be checked, which is not evidence that it was forged or altered. Give that key's
    /// public half (<c>--public-key</c>, or <see cref="AuditOptions.PreviousPublicKeysPath"/> after a key change) and verify
    /// again. Null otherwise.</summary>
    public string? UnknownKeyId { get; init; }

    /// <summary>Archive rows no archive-ledger commitment covers: recorded before this version, so only their ranges (and
    /// the newest one's file hash) were checked, not what they hold. 0 once an archive recorded by this version commits to
    /// every row of its chain.</summary>
    public long UnverifiedArchiveRows { get; init; }

    /// <summary>What verification could not fully check although it found no problem, one sentence each.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}
