namespace Nv.Audit;

/// <summary>The result of verifying a hash chain.</summary>
public sealed record AuditVerification
{
    /// <summary>Whether every chain verified.</summary>
    public required bool IsValid { get; init; }

    /// <summary>Entries checked.</summary>
    public required long EntriesChecked { get; init; }

    /// <summary>The chain holding the first broken entry, if any.</summary>
    public string? BrokenChain { get; init; }

    /// <summary>Sequence of the first broken entry, if any.</summary>
    public long? BrokenSequence { get; init; }

    /// <summary>Why it is broken (hash mismatch, gap, prevHash mismatch...).</summary>
    public string? Reason { get; init; }
}
