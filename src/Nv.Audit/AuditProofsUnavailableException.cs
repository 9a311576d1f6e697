using Nv.Wal;

namespace Nv.Audit;

/// <summary>The configured audit store keeps no Merkle tree, so it has no inclusion or consistency proofs and no signed
/// checkpoints; its hash chains still verify (<see cref="IAuditProofs.VerifyAsync(AuditVerifyOptions?, CancellationToken)"/>).</summary>
/// <remarks>Never transient: it is what the store is, not its state. The HTTP API answers 501 with problem type
/// <c>https://nv.dev/problems/proofs-unavailable</c>; the CLI exits 1 with this message.</remarks>
public sealed class AuditProofsUnavailableException : NvException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="store">The kind of store, for the message (e.g. "MongoDB").</param>
    /// <param name="what">What was asked for (e.g. "inclusion proofs").</param>
    public AuditProofsUnavailableException(string store, string what)
        : base($"The {store} audit store keeps no Merkle tree yet, so it has no {what}; its hash chains verify " +
               "(nv audit verify, GET /v1/audit/verify). Proofs and checkpoints need the embedded SQLite audit store.")
    {
        Store = store;
    }

    /// <summary>The kind of store that was asked.</summary>
    public string Store { get; }

    /// <inheritdoc />
    public override bool IsTransient => false;
}
