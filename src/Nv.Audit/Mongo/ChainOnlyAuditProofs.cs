using Nv.Audit.Merkle;

namespace Nv.Audit.Mongo;

/// <summary><see cref="IAuditProofs"/> for an audit store without a Merkle tree (MongoDB, until it keeps one): full
/// verification is the hash-chain verification; proofs and checkpoints throw <see cref="AuditProofsUnavailableException"/>.</summary>
/// <remarks>So <c>nv audit verify</c> works on every store, and the proof endpoints answer 501 instead of failing.</remarks>
internal sealed class ChainOnlyAuditProofs(IAuditSink sink, string store) : IAuditProofs
{
    public Task<string> GetPublicKeyPemAsync(CancellationToken cancellationToken = default) =>
        throw new AuditProofsUnavailableException(store, "checkpoint signing key");

    public Task<string> GetTrustedPublicKeysPemAsync(CancellationToken cancellationToken = default) =>
        throw new AuditProofsUnavailableException(store, "checkpoint signing key");

    public Task<AuditInclusionProof?> GetInclusionProofAsync(Guid entryId, long? treeSize = null, CancellationToken cancellationToken = default) =>
        throw new AuditProofsUnavailableException(store, "inclusion proofs");

    public Task<AuditConsistencyProof> GetConsistencyProofAsync(string chain, long fromSize, long toSize, CancellationToken cancellationToken = default) =>
        throw new AuditProofsUnavailableException(store, "consistency proofs");

    public Task<SignedCheckpoint?> CheckpointAsync(string chain, CancellationToken cancellationToken = default) =>
        throw new AuditProofsUnavailableException(store, "signed checkpoints");

    public Task<IReadOnlyList<SignedCheckpoint>> CheckpointAllAsync(CancellationToken cancellationToken = default) =>
        throw new AuditProofsUnavailableException(store, "signed checkpoints");

    public Task<SignedCheckpoint?> GetLatestCheckpointAsync(string chain, CancellationToken cancellationToken = default) =>
        throw new AuditProofsUnavailableException(store, "signed checkpoints");

    public Task<IReadOnlyList<SignedCheckpoint>> GetLatestCheckpointsAsync(CancellationToken cancellationToken = default) =>
        throw new AuditProofsUnavailableException(store, "signed checkpoints");

    /// <summary>Verifies every hash chain. No checkpoints exist to check (<see cref="AuditVerification.CheckpointsChecked"/> is 0);
    /// a checkpoint kept outside the store cannot be checked without the tree, so asking for it throws rather than pass.</summary>
    public Task<AuditVerification> VerifyAsync(AuditVerifyOptions? options, CancellationToken cancellationToken = default) =>
        options?.FromCheckpoint is not null
            ? throw new AuditProofsUnavailableException(store, "consistency check against an exported checkpoint (--from-checkpoint)")
            : sink.VerifyAsync(cancellationToken);
}
