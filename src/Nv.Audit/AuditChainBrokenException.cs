using Nv.Wal;

namespace Nv.Audit;

/// <summary>An audit hash chain does not verify: an entry was edited, deleted, reordered or forged.</summary>
/// <remarks>Never transient: the stored trail itself is damaged and needs an operator.</remarks>
public sealed class AuditChainBrokenException : NvException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="chain">The chain (service) holding the first broken entry.</param>
    /// <param name="sequence">Sequence of the first broken entry.</param>
    /// <param name="reason">What is wrong with it.</param>
    /// <param name="innerException">The underlying failure, if any.</param>
    public AuditChainBrokenException(string chain, long sequence, string? reason = null, Exception? innerException = null)
        : base($"Audit chain '{chain}' is broken at sequence {sequence}" + (reason is null ? "." : $": {reason}"), innerException)
    {
        Chain = chain;
        Sequence = sequence;
        Reason = reason;
    }

    /// <summary>The chain (service) holding the first broken entry.</summary>
    public string Chain { get; }

    /// <summary>Sequence of the first broken entry.</summary>
    public long Sequence { get; }

    /// <summary>What is wrong with the entry, if known.</summary>
    public string? Reason { get; }

    /// <inheritdoc />
    public override bool IsTransient => false;
}
