using Nv.Audit.Merkle;

namespace Nv.Audit;

/// <summary>What <see cref="IAuditProofs.VerifyAsync(AuditVerifyOptions?, CancellationToken)"/> checks beyond the stored trail.</summary>
public sealed record AuditVerifyOptions
{
    /// <summary>A checkpoint kept outside the store (<c>nv audit verify --from-checkpoint FILE</c>): the trail must still
    /// contain its tree, unchanged (a consistency check); this detects deletion of the newest entries even if the
    /// stored checkpoints were deleted too.</summary>
    public SignedCheckpoint? FromCheckpoint { get; init; }

    /// <summary>The public key (PEM) checkpoints must verify with; null: the store's own signing key. An auditor should
    /// pass the key they hold, since whoever can rewrite the store may also replace a key kept next to it.</summary>
    public string? PublicKeyPem { get; init; }
}
