using Nv.Audit.Merkle;

namespace Nv.Audit;

/// <summary>Merkle proofs, signed checkpoints and full verification of the audit trail (RFC 9162 tree per chain).</summary>
/// <remarks>
/// Each chain (service) has a Merkle tree whose leaf i is the entry with sequence i + 1; leaf data is the entry's
/// canonical bytes (docs/audit-merkle.md). Checkpoints (tree size, root, time, chain, key id) are signed with ECDSA
/// P-256 and stored with the trail. Calls are serialized with appends, so a proof or checkpoint never sees a
/// half-written batch. Implemented by the embedded SQLite store.
/// </remarks>
public interface IAuditProofs
{
    /// <summary>The public key (SubjectPublicKeyInfo PEM) that verifies this store's checkpoints; give it to auditors.</summary>
    Task<string> GetPublicKeyPemAsync(CancellationToken cancellationToken = default);

    /// <summary>The public keys (PEM blocks, one after the other) this store's own verification trusts: the current key and
    /// the earlier keys of <see cref="AuditOptions.PreviousPublicKeysPath"/>, so checkpoints signed before a key change
    /// still verify (<see cref="CheckpointVerifier.FromPublicKeyPem"/> takes them as they are). Empty when a store opened
    /// read-only (<see cref="AuditOptions.ReadOnly"/>) was given no key and found none next to it.</summary>
    /// <exception cref="FileNotFoundException">The configured file of earlier keys does not exist.</exception>
    /// <remarks>The default (for implementations written before it) trusts the current key only.</remarks>
    Task<string> GetTrustedPublicKeysPemAsync(CancellationToken cancellationToken = default) => GetPublicKeyPemAsync(cancellationToken);

    /// <summary>Proves that an entry is in its chain's tree.</summary>
    /// <param name="entryId">The entry.</param>
    /// <param name="treeSize">The tree size to prove against; null: the newest stored checkpoint that covers the entry
    /// (a new checkpoint is signed and stored when none does; a store opened read-only signs none, and then proves the
    /// entry against its current tree with no checkpoint).</param>
    /// <param name="cancellationToken">Cancels the wait for the store.</param>
    /// <returns>The proof, or null when no entry has that id.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="treeSize"/> does not cover the entry or exceeds the tree.</exception>
    Task<AuditInclusionProof?> GetInclusionProofAsync(Guid entryId, long? treeSize = null, CancellationToken cancellationToken = default);

    /// <summary>Proves that the chain's tree at <paramref name="toSize"/> extends the tree at <paramref name="fromSize"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The sizes are not 0 ≤ from ≤ to ≤ current size.</exception>
    /// <exception cref="KeyNotFoundException">The store holds no chain named <paramref name="chain"/> (no entries, no
    /// checkpoint): there is no tree to prove anything about.</exception>
    Task<AuditConsistencyProof> GetConsistencyProofAsync(string chain, long fromSize, long toSize, CancellationToken cancellationToken = default);

    /// <summary>Signs and stores a checkpoint of <paramref name="chain"/>'s current tree (or returns the newest stored one
    /// when the tree has not grown since).</summary>
    /// <returns>The checkpoint, or null when the chain has no entries.</returns>
    Task<SignedCheckpoint?> CheckpointAsync(string chain, CancellationToken cancellationToken = default);

    /// <summary>Checkpoints every chain that grew since its last checkpoint (the host calls this at shutdown).</summary>
    /// <returns>The checkpoints signed.</returns>
    Task<IReadOnlyList<SignedCheckpoint>> CheckpointAllAsync(CancellationToken cancellationToken = default);

    /// <summary>The newest stored checkpoint of <paramref name="chain"/>, or null.</summary>
    Task<SignedCheckpoint?> GetLatestCheckpointAsync(string chain, CancellationToken cancellationToken = default);

    /// <summary>The newest stored checkpoint of every chain that has one, by chain name (what an auditor keeps outside the
    /// store to run <c>nv audit verify --from-checkpoint</c> later).</summary>
    Task<IReadOnlyList<SignedCheckpoint>> GetLatestCheckpointsAsync(CancellationToken cancellationToken = default);

    /// <summary>Verifies every hash chain, that every stored checkpoint is validly signed and matches the Merkle root
    /// recomputed from the entries, that the stored Merkle leaves match the entries, and (optionally) that the trail
    /// is consistent with an earlier checkpoint kept outside the store.</summary>
    /// <remarks>Recomputes everything from the stored entries; nothing cached is trusted. Holds one chain's leaf hashes
    /// in memory at a time per chain (32 bytes per entry).</remarks>
    Task<AuditVerification> VerifyAsync(AuditVerifyOptions? options, CancellationToken cancellationToken = default);

    /// <summary>Verifies as <see cref="VerifyAsync(AuditVerifyOptions?, CancellationToken)"/> does, reporting how far it has
    /// got: the entries (<see cref="AuditProgressPhase.VerifyEntries"/>), the stored checkpoints and the stored Merkle leaves.</summary>
    /// <param name="options">What to check beyond the stored trail; null: nothing.</param>
    /// <param name="progress">Receives <see cref="AuditProgress"/> reports at a bounded rate (see its remarks); null: none.</param>
    /// <param name="cancellationToken">Stops the verification (it then throws <see cref="OperationCanceledException"/>).</param>
    /// <remarks>The default (for implementations written before it) reports nothing.</remarks>
    Task<AuditVerification> VerifyAsync(AuditVerifyOptions? options, IProgress<AuditProgress>? progress,
        CancellationToken cancellationToken = default) => VerifyAsync(options, cancellationToken);
}
